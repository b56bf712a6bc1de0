using System.Globalization;
using System.Text.Json;

namespace OrderPlatform.InvariantChecker.Store;

/// <summary>
/// Reads stored event data by the field names documented in docs/events.md and schemas/events.v1.json.
/// A missing or mistyped field throws <see cref="FormatException"/>: the checker reports the event as unreadable.
/// </summary>
internal static class StoredJson
{
    public static Guid Guid(JsonElement data, string field) =>
        Field(data, field) is { ValueKind: JsonValueKind.String } value && value.TryGetGuid(out var guid)
            ? guid
            : throw new FormatException($"'{field}' is not a uuid");

    public static int Int(JsonElement data, string field) =>
        Field(data, field) is { ValueKind: JsonValueKind.Number } value && value.TryGetInt32(out var number)
            ? number
            : throw new FormatException($"'{field}' is not an integer");

    public static decimal Decimal(JsonElement data, string field) =>
        Field(data, field) is { ValueKind: JsonValueKind.Number } value && value.TryGetDecimal(out var number)
            ? number
            : throw new FormatException($"'{field}' is not a number");

    public static string String(JsonElement data, string field) =>
        Field(data, field) is { ValueKind: JsonValueKind.String } value
            ? value.GetString()!
            : throw new FormatException($"'{field}' is not a string");

    public static DateTimeOffset Time(JsonElement data, string field) =>
        DateTimeOffset.TryParse(String(data, field), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var time)
            ? time
            : throw new FormatException($"'{field}' is not a timestamp");

    /// <summary>Money is <c>{ "amount": decimal, "currency": "ISO 4217" }</c>.</summary>
    public static (decimal Amount, string Currency) Money(JsonElement data, string field)
    {
        var money = Field(data, field) is { ValueKind: JsonValueKind.Object } value ? value : throw new FormatException($"'{field}' is not money");
        return (Decimal(money, "amount"), String(money, "currency"));
    }

    public static JsonElement.ArrayEnumerator Array(JsonElement data, string field) =>
        Field(data, field) is { ValueKind: JsonValueKind.Array } value
            ? value.EnumerateArray()
            : throw new FormatException($"'{field}' is not an array");

    private static JsonElement? Field(JsonElement data, string field) =>
        data.ValueKind == JsonValueKind.Object && data.TryGetProperty(field, out var value) ? value : null;
}
