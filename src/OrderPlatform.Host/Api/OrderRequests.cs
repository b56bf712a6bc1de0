using System.Text.Json;
using System.Text.RegularExpressions;
using OrderPlatform.Domain;

namespace OrderPlatform.Host.Api;

public sealed record PlaceOrderBody(string? CustomerId, string? Currency, string? PaymentToken, List<OrderLineBody>? Lines);

public sealed record OrderLineBody(string? Sku, long? Quantity, decimal? UnitPrice);

public sealed record RestockBody(long? Quantity);

public sealed record CancelOrderBody(string? Reason);

/// <summary>Parsing and validation of request bodies: pure functions, nothing is written before they pass.</summary>
public static partial class OrderRequests
{
    public const int MaxLines = 100;
    public const int MaxQuantityPerLine = 10_000;
    public const decimal MaxUnitPrice = 1_000_000m;
    public const int MaxTextLength = 200;

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        AllowTrailingCommas = false,
        ReadCommentHandling = JsonCommentHandling.Disallow,
        UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow,
    };

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    private static partial Regex SkuPattern();

    public static bool IsValidSku(string? sku) => sku is not null && SkuPattern().IsMatch(sku);

    /// <summary>Parses JSON into <typeparamref name="T"/> or returns a 400 problem that says where it broke.</summary>
    public static (T? Value, IResult? Problem) Parse<T>(ReadOnlyMemory<byte> body)
        where T : class
    {
        try
        {
            var value = JsonSerializer.Deserialize<T>(body.Span, Json);
            return value is null ? (null, Problems.MalformedJson("The body must be a JSON object.")) : (value, null);
        }
        catch (JsonException e)
        {
            var where = e.Path is { Length: > 0 } path ? $" at {path}" : "";
            return (null, Problems.MalformedJson($"The body is not valid JSON for this request{where}: {FirstSentence(e.Message)}"));
        }
    }

    public static Dictionary<string, string[]> Validate(PlaceOrderBody body)
    {
        var errors = new Dictionary<string, string[]>();
        if (string.IsNullOrWhiteSpace(body.CustomerId) || body.CustomerId.Length > MaxTextLength)
        {
            errors["customerId"] = [$"Required, at most {MaxTextLength} characters."];
        }

        if (!Money.IsIsoCurrency(body.Currency))
        {
            errors["currency"] = ["Required: an ISO 4217 code of three upper-case letters, such as EUR."];
        }

        if (string.IsNullOrWhiteSpace(body.PaymentToken) || body.PaymentToken.Length > MaxTextLength)
        {
            errors["paymentToken"] = [$"Required, at most {MaxTextLength} characters."];
        }

        if (body.Lines is null || body.Lines.Count == 0)
        {
            errors["lines"] = ["At least one line is required."];
            return errors;
        }

        if (body.Lines.Count > MaxLines)
        {
            errors["lines"] = [$"At most {MaxLines} lines per order; got {body.Lines.Count}."];
            return errors;
        }

        for (var i = 0; i < body.Lines.Count; i++)
        {
            var line = body.Lines[i];
            if (line is null)
            {
                errors[$"lines[{i}]"] = ["A line must be an object."];
                continue;
            }

            if (!IsValidSku(line.Sku))
            {
                errors[$"lines[{i}].sku"] = ["Required: 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit."];
            }

            if (line.Quantity is not (>= 1 and <= MaxQuantityPerLine))
            {
                errors[$"lines[{i}].quantity"] = [$"Required: a whole number from 1 to {MaxQuantityPerLine}."];
            }

            if (line.UnitPrice is not { } price || price < 0 || price > MaxUnitPrice || price.Scale > 4 && decimal.Round(price, 4) != price)
            {
                errors[$"lines[{i}].unitPrice"] = [$"Required: an amount from 0 to {MaxUnitPrice} with at most 4 decimals."];
            }
        }

        if (errors.Count == 0)
        {
            var perSku = body.Lines.GroupBy(l => l.Sku!, StringComparer.Ordinal).Where(g => g.Sum(l => l.Quantity!.Value) > MaxQuantityPerLine).Select(g => g.Key).ToList();
            if (perSku.Count > 0)
            {
                errors["lines"] = [$"At most {MaxQuantityPerLine} units per SKU; exceeded for {string.Join(", ", perSku)}."];
            }
        }

        return errors;
    }

    private static string FirstSentence(string message)
    {
        var end = message.IndexOf(". ", StringComparison.Ordinal);
        return end > 0 ? message[..(end + 1)] : message;
    }
}
