using System.Text.Json;
using OrderPlatform.InvariantChecker.Reporting;
using OrderPlatform.InvariantChecker.Store;

namespace OrderPlatform.InvariantChecker.Idempotency;

/// <summary>
/// Invariant 5, the part the data can show: one idempotency key, one effect. The request path is not stored, so
/// a completed <c>POST /orders</c> is recognised by its stored response: 202 with a body whose status is
/// "Accepted" and whose orderId names the order (a cancellation also answers 202 with the order's location, but
/// with status "CancellationRequested"). Each order must appear under one key only and must have a saga.
/// "Same key, other body: 422, no effect" leaves no trace and cannot be checked after the fact.
/// </summary>
internal static class IdempotencyCheck
{
    public const string Name = "idempotency";

    public static async Task<InvariantResult> RunAsync(StoreSnapshot snapshot, PlatformData data, int maxExamples, CancellationToken cancellationToken)
    {
        var result = new InvariantResultBuilder(5, Name, "Same idempotency key and body: same response, one effect.", maxExamples);
        var sharedOrder = result.Rule("order under several keys");
        var noSaga = result.Rule("accepted order without saga");

        var keysByOrder = new Dictionary<Guid, List<string>>();
        long completed = 0, cancellations = 0, unreadable = 0;
        await snapshot.ReadAsync(
            "select idempotency_key, response_body from idempotency_keys where completed and status_code = 202 order by created_at, idempotency_key",
            row =>
            {
                completed++;
                var key = row.GetString(0);
                switch (Classify(row.IsDBNull(1) ? null : row.GetString(1)))
                {
                    case (true, { } orderId):
                        if (!keysByOrder.TryGetValue(orderId, out var keys))
                        {
                            keys = [];
                            keysByOrder.Add(orderId, keys);
                        }

                        keys.Add(key);
                        break;
                    case (false, not null):
                        cancellations++;
                        break;
                    default:
                        unreadable++;
                        break;
                }
            },
            cancellationToken).ConfigureAwait(false);

        foreach (var (orderId, keys) in keysByOrder.Where(k => k.Value.Count > 1).OrderBy(k => k.Key))
        {
            sharedOrder.Add($"order {orderId}: keys {string.Join(", ", keys.Select(k => $"'{k}'"))}");
        }

        foreach (var (orderId, keys) in keysByOrder.Where(k => !data.Sagas.ContainsKey(k.Key)).OrderBy(k => k.Key))
        {
            noSaga.Add($"order {orderId} (key '{keys[0]}'): no saga stream and no row in sagas");
        }

        var (claims, inProgress, abandoned) = (0L, 0L, 0L);
        await snapshot.ReadAsync(
            "select count(*), count(*) filter (where not completed), count(*) filter (where not completed and lease_until < $1) from idempotency_keys",
            row => (claims, inProgress, abandoned) = (row.GetInt64(0), row.GetInt64(1), row.GetInt64(2)),
            cancellationToken,
            snapshot.Now).ConfigureAwait(false);

        result.Count("keys", claims);
        result.Count("accepted orders", keysByOrder.Count);
        result.Count("accepted cancellations", cancellations);
        result.Count("in progress", inProgress);
        if (abandoned > 0)
        {
            result.Note($"{abandoned} claim(s) whose lease ran out without a response (a request cut off; a retry takes the key over)");
        }

        if (completed - keysByOrder.Count - cancellations > 0)
        {
            result.Note($"{completed - keysByOrder.Count - cancellations} stored 202 response(s) that are neither an accepted order nor a cancellation");
        }

        result.Note("same key with another body (422, no effect) leaves no trace: not checkable after the fact");
        return result.Build();
    }

    /// <summary>Whether a stored 202 body is an accepted order (true) or an accepted cancellation (false), and of which order.</summary>
    private static (bool Placed, Guid? OrderId) Classify(string? body)
    {
        if (body is null)
        {
            return (false, null);
        }

        try
        {
            using var json = JsonDocument.Parse(body);
            var root = json.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("orderId", out var id) || id.ValueKind != JsonValueKind.String || !id.TryGetGuid(out var orderId)
                || !root.TryGetProperty("status", out var status) || status.ValueKind != JsonValueKind.String)
            {
                return (false, null);
            }

            return status.GetString() switch
            {
                "Accepted" => (true, orderId),
                "CancellationRequested" => (false, orderId),
                _ => (false, null),
            };
        }
        catch (JsonException)
        {
            return (false, null);
        }
    }
}
