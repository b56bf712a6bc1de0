using System.Text;
using System.Text.Json;

namespace OrderPlatform.LoadGen.Orders;

/// <summary>
/// What order n looks like: SKU <c>{prefix}-{n mod skus}</c>, payment token number <c>n mod tokens</c>, one line of
/// quantity 1, and an idempotency key unique to this run and order.
/// </summary>
internal sealed class OrderMix(string skuPrefix, int skus, IReadOnlyList<string> tokens)
{
    public string SkuPrefix => skuPrefix;

    public int Skus => skus;

    public IReadOnlyList<string> Tokens => tokens;

    public static string SkuName(string prefix, int index) => $"{prefix}-{index}";

    public string Sku(long sequence) => SkuName(skuPrefix, (int)(sequence % skus));

    public string Token(long sequence) => tokens[(int)(sequence % tokens.Count)];

    public IEnumerable<string> AllSkus() => Enumerable.Range(0, skus).Select(i => SkuName(skuPrefix, i));

    public static string IdempotencyKey(string runId, long sequence) => $"loadgen-{runId}-{sequence}";

    public byte[] Body(long sequence)
    {
        using var buffer = new MemoryStream(192);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("customerId", $"c-{sequence % 1000}");
            json.WriteString("currency", "EUR");
            json.WriteString("paymentToken", Token(sequence));
            json.WriteStartArray("lines");
            json.WriteStartObject();
            json.WriteString("sku", Sku(sequence));
            json.WriteNumber("quantity", 1);
            json.WriteNumber("unitPrice", 5.25m);
            json.WriteEndObject();
            json.WriteEndArray();
            json.WriteEndObject();
        }

        return buffer.ToArray();
    }

    public static byte[] RestockBody(int quantity) => Encoding.UTF8.GetBytes($$"""{"quantity":{{quantity}}}""");
}
