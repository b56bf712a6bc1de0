using System.Security.Cryptography;
using System.Text;

namespace OrderPlatform.Grains;

public static class OrderIds
{
    /// <summary>
    /// The order id for an idempotency key and request body: a retry that lost its stored response still reaches
    /// the same saga, while a key reused with another body after its retention places a new order.
    /// </summary>
    public static Guid For(string idempotencyKey, ReadOnlySpan<byte> body)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData(Encoding.UTF8.GetBytes("order:" + idempotencyKey + "\n"));
        sha.AppendData(body);
        var hash = sha.GetHashAndReset();
        var bytes = hash.AsSpan(0, 16).ToArray();
        bytes[7] = (byte)((bytes[7] & 0x0F) | 0x80); // version 8 (name-based, custom), in .NET's little-endian layout
        bytes[8] = (byte)((bytes[8] & 0x3F) | 0x80); // RFC 9562 variant
        return new Guid(bytes);
    }
}
