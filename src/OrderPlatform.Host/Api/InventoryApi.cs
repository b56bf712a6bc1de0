using System.Text.Json;
using OrderPlatform.Domain.Inventory;
using OrderPlatform.EventStore.Idempotency;
using OrderPlatform.Grains;

namespace OrderPlatform.Host.Api;

public static class InventoryApi
{
    private const int MaxBodyBytes = 4 * 1024;

    public static RouteGroupBuilder MapInventoryApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/inventory").WithTags("Inventory");

        group.MapPost("/{sku}/restock", RestockAsync)
            .WithSummary("Add stock to a SKU (creates the SKU on first restock).")
            .Accepts<RestockBody>("application/json")
            .Produces<StockView>()
            .ProducesProblem(StatusCodes.Status400BadRequest);

        group.MapGet("/{sku}", GetStockAsync)
            .WithSummary("On hand, available, reserved and sold for a SKU.")
            .Produces<StockView>()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);

        return group;
    }

    private static Task<IResult> RestockAsync(string sku, HttpContext http, IdempotentRequests requests, IGrainFactory grains) =>
        requests.HandleAsync(http, MaxBodyBytes, bodyRequired: true, (raw, _) =>
        {
            if (!OrderRequests.IsValidSku(sku))
            {
                return Task.FromResult(PreparedRequest.Reject(Problems.Validation("sku: 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit.")));
            }

            var (body, problem) = OrderRequests.Parse<RestockBody>(raw);
            if (problem is not null)
            {
                return Task.FromResult(PreparedRequest.Reject(problem));
            }

            if (body!.Quantity is not (>= 1 and <= Stock.MaxRestockQuantity))
            {
                return Task.FromResult(PreparedRequest.Reject(Problems.Validation(
                    "One or more fields are invalid.",
                    new Dictionary<string, string[]> { ["quantity"] = [$"Required: a whole number from 1 to {Stock.MaxRestockQuantity}."] })));
            }

            var commandId = "restock:" + http.Request.Headers[IdempotentRequests.HeaderName].ToString();
            return Task.FromResult(PreparedRequest.Run(async _ =>
            {
                var view = await grains.Get<IInventoryGrain>(sku).RestockAsync(commandId, (int)body.Quantity.Value);
                return new StoredResponse(StatusCodes.Status200OK, "application/json", $"/inventory/{sku}", JsonSerializer.Serialize(view, OrderRequests.Json));
            }));
        });

    private static async Task<IResult> GetStockAsync(string sku, IGrainFactory grains)
    {
        if (!OrderRequests.IsValidSku(sku))
        {
            return Problems.NotFound($"There is no SKU '{sku}'.");
        }

        var view = await grains.Get<IInventoryGrain>(sku).GetAsync();
        return view.Version == 0 ? Problems.NotFound($"There is no SKU '{sku}'.") : TypedResults.Ok(view);
    }
}
