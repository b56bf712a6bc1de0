using System.Buffers.Binary;

namespace OrderPlatform.EventStore.Events;

/// <summary>
/// Event ids: version 7 UUIDs (RFC 9562), the millisecond of the event followed by 74 random bits, so ids sort by
/// time and new ones land at the end of the <c>events.event_id</c> index. The random bits come from the thread's
/// pseudo-random generator (<see cref="Random.Shared"/>, seeded from the operating system once per thread), not from
/// the operating system for each id as <see cref="Guid.CreateVersion7(DateTimeOffset)"/> does: a system call per id
/// (a read of /dev/urandom, about 18 for every order) for bits that only need to be unique, never unpredictable.
/// </summary>
public static class EventIds
{
    /// <summary>A new id dated <paramref name="at"/> (to the millisecond; not before 1970, as for <see cref="Guid.CreateVersion7(DateTimeOffset)"/>).</summary>
    public static Guid New(DateTimeOffset at)
    {
        var milliseconds = at.ToUnixTimeMilliseconds();
        ArgumentOutOfRangeException.ThrowIfNegative(milliseconds, nameof(at));

        // Big-endian, as the RFC lays it out: 48 bits of Unix milliseconds, the version (7) in the high four bits of
        // byte 6, the variant (binary 10) in the high two bits of byte 8; every other bit random.
        Span<byte> bytes = stackalloc byte[16];
        Random.Shared.NextBytes(bytes[6..]);
        BinaryPrimitives.WriteUInt16BigEndian(bytes[..2], (ushort)(milliseconds >> 32));
        BinaryPrimitives.WriteUInt32BigEndian(bytes[2..6], (uint)milliseconds);
        bytes[6] = (byte)(0x70 | (bytes[6] & 0x0F));
        bytes[8] = (byte)(0x80 | (bytes[8] & 0x3F));
        return new Guid(bytes, bigEndian: true);
    }
}
