using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using OrderPlatform.EventStore.Idempotency;

namespace OrderPlatform.Host.Api;

/// <summary>What a request did: its response, and whether that is already stored under its key (with its effect).</summary>
public sealed record ExecutedRequest(StoredResponse Response, bool Stored);

/// <summary>
/// The outcome of checking a request before anything is written: either a problem to answer with (nothing
/// stored, the key stays free) or the work to run once the idempotency key is claimed (given the key).
/// </summary>
public sealed record PreparedRequest(
    IResult? Problem,
    Func<string, CancellationToken, Task<ExecutedRequest>>? Execute,
    Func<KeyToClaim, CancellationToken, Task<ExecutedRequest?>>? ExecuteClaiming = null)
{
    public static PreparedRequest Reject(IResult problem) => new(problem, null);

    /// <summary>Work whose response is stored after it, in a transaction of its own.</summary>
    public static PreparedRequest Run(Func<CancellationToken, Task<StoredResponse>> execute) =>
        new(null, async (_, cancellationToken) => new ExecutedRequest(await execute(cancellationToken), Stored: false));

    /// <summary>Work that may store its response itself, with its effect; it says whether it did.</summary>
    public static PreparedRequest RunStoring(Func<string, CancellationToken, Task<ExecutedRequest>> execute) => new(null, execute);

    /// <summary>
    /// Work whose effect can claim the key itself, in the transaction that records it, so the request commits once.
    /// <paramref name="claiming"/> is tried first, before any claim (unless <see cref="IdempotencyOptions.ClaimWithEffect"/>
    /// is off); it answers null when it wrote nothing: the key was in use, or the effect had been made before. The request
    /// then goes the usual way: the key is claimed (or the stored response replayed, or the request refused) and
    /// <paramref name="execute"/> runs under the claimed key.
    /// </summary>
    public static PreparedRequest RunClaiming(
        Func<KeyToClaim, CancellationToken, Task<ExecutedRequest?>> claiming, Func<string, CancellationToken, Task<ExecutedRequest>> execute) =>
        new(null, execute, claiming);
}

public sealed class IdempotencyOptions
{
    /// <summary>Shared with <see cref="IdempotencyStoreOptions"/> (retention and lease).</summary>
    public const string Section = "Idempotency";

    public TimeSpan PurgeInterval { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How long a duplicate waits for the first request with its key to finish before answering 409.</summary>
    public TimeSpan DuplicateWait { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Whether work that can claim its key with its effect (a new order's saga start) does so, one commit for the request,
    /// instead of claiming the key on its own first. A silo built before this cannot claim a key in a saga's start: roll a cluster onto
    /// this version with it false, then turn it on.
    /// </summary>
    public bool ClaimWithEffect { get; set; } = true;
}

/// <summary>
/// Runs every POST under its Idempotency-Key: validate without side effects, claim the key with a unique
/// insert and the request's hash, run, store the response; a replay with the same request gets the stored
/// response, the same key with another request gets 422, and concurrent duplicates wait for the first. Work whose
/// effect claims its key itself (a new order's saga start) runs before any claim, and goes this way only when it
/// wrote nothing.
/// </summary>
public sealed class IdempotentRequests(IdempotencyStore store, IOptions<IdempotencyOptions> options, TimeProvider time, ILogger<IdempotentRequests> logger)
{
    public const string HeaderName = "Idempotency-Key";
    public const int MaxKeyLength = 200;

    public async Task<IResult> HandleAsync(
        HttpContext http,
        int maxBodyBytes,
        bool bodyRequired,
        Func<ReadOnlyMemory<byte>, CancellationToken, Task<PreparedRequest>> prepare)
    {
        var cancellationToken = http.RequestAborted;
        if (!TryGetKey(http.Request, out var key))
        {
            return Problems.MissingIdempotencyKey();
        }

        var (body, problem) = await ReadBodyAsync(http.Request, maxBodyBytes, bodyRequired, cancellationToken);
        if (problem is not null)
        {
            return problem;
        }

        var prepared = await prepare(body, cancellationToken);
        if (prepared.Problem is not null)
        {
            return prepared.Problem;
        }

        var hash = Hash(http.Request, body.Span);
        if (prepared.ExecuteClaiming is { } claiming && options.Value.ClaimWithEffect)
        {
            ExecutedRequest? done;
            try
            {
                done = await claiming(store.ToClaimWithEffect(key, hash), cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // The key and the effect commit together or not at all: a retry with the same key replays or runs it.
                logger.LogWarning(e, "Request under idempotency key {Key} failed before its key was claimed.", key);
                return RetryLater(http);
            }

            if (done is not null)
            {
                return new StoredResult(done.Response);
            }
        }

        var deadline = time.GetUtcNow() + options.Value.DuplicateWait;
        while (true)
        {
            var claim = await store.ClaimAsync(key, hash, cancellationToken);
            switch (claim.Outcome)
            {
                case ClaimOutcome.Mismatch:
                    return Problems.KeyReusedWithOtherRequest();
                case ClaimOutcome.Completed:
                    http.Response.Headers["Idempotent-Replayed"] = "true";
                    return new StoredResult(claim.Response!);
                case ClaimOutcome.InProgress when time.GetUtcNow() < deadline:
                    await Task.Delay(TimeSpan.FromMilliseconds(50), time, cancellationToken);
                    continue;
                case ClaimOutcome.InProgress:
                    http.Response.Headers.RetryAfter = "1";
                    return Problems.KeyInProgress();
            }

            ExecutedRequest executed;
            try
            {
                executed = await prepared.Execute!(key, cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // Nothing worth replaying happened (or the effect is itself idempotent): free the key for a retry.
                logger.LogWarning(e, "Request under idempotency key {Key} failed; releasing the key.", key);
                await store.ReleaseAsync(key, CancellationToken.None);
                return RetryLater(http);
            }

            if (!executed.Stored)
            {
                await store.CompleteAsync(key, executed.Response, CancellationToken.None);
            }

            return new StoredResult(executed.Response);
        }
    }

    /// <summary>503 with Retry-After: the request failed without an effect worth replaying, and may be sent again with its key.</summary>
    private static IResult RetryLater(HttpContext http)
    {
        http.Response.Headers.RetryAfter = "1";
        return Problems.Unavailable("The request could not be completed now. Retry with the same Idempotency-Key.");
    }

    private static bool TryGetKey(HttpRequest request, out string key)
    {
        key = request.Headers[HeaderName].ToString();
        return request.Headers[HeaderName].Count == 1
            && key.Length is > 0 and <= MaxKeyLength
            && key.All(c => c is >= '!' and <= '~');
    }

    private static async Task<(ReadOnlyMemory<byte> Body, IResult? Problem)> ReadBodyAsync(
        HttpRequest request, int maxBodyBytes, bool bodyRequired, CancellationToken cancellationToken)
    {
        if (request.ContentLength > maxBodyBytes)
        {
            return (default, Problems.TooLarge(maxBodyBytes));
        }

        var hasBody = request.ContentLength > 0 || request.Headers.TransferEncoding.Count > 0;
        if (!hasBody)
        {
            return bodyRequired ? (default, Problems.Validation("A JSON body is required.")) : (ReadOnlyMemory<byte>.Empty, null);
        }

        if (!IsJson(request.ContentType))
        {
            return (default, Problems.UnsupportedMediaType());
        }

        // A body of known length is read into an array of its size (an order is a few hundred bytes); a chunked one
        // into a buffer that grows as it arrives.
        var stream = request.Body;
        if (request.ContentLength is { } length && request.Headers.TransferEncoding.Count == 0)
        {
            var body = new byte[length];
            var filled = 0;
            while (filled < body.Length)
            {
                var read = await stream.ReadAsync(body.AsMemory(filled), cancellationToken);
                if (read == 0)
                {
                    break;
                }

                filled += read;
            }

            return (body.AsMemory(0, filled), null);
        }

        var buffer = new ArrayBufferWriter<byte>(4096);
        while (true)
        {
            var memory = buffer.GetMemory(4096);
            var read = await stream.ReadAsync(memory, cancellationToken);
            if (read == 0)
            {
                break;
            }

            buffer.Advance(read);
            if (buffer.WrittenCount > maxBodyBytes)
            {
                return (default, Problems.TooLarge(maxBodyBytes));
            }
        }

        return (buffer.WrittenMemory, null);
    }

    private static bool IsJson(string? contentType) =>
        contentType is not null
        && Microsoft.Net.Http.Headers.MediaTypeHeaderValue.TryParse(contentType, out var media)
        && (media.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
            || (media.Suffix.Equals("json", StringComparison.OrdinalIgnoreCase) && media.Type.Equals("application", StringComparison.OrdinalIgnoreCase)));

    private static byte[] Hash(HttpRequest request, ReadOnlySpan<byte> body)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(Encoding.UTF8.GetBytes($"{request.Method} {request.Path}\n"));
        hash.AppendData(body);
        return hash.GetHashAndReset();
    }

    /// <summary>A response as stored under a key: what a first request answered, and what its replays answer.</summary>
    public sealed class StoredResult(StoredResponse response) : IResult
    {
        public StoredResponse Response => response;

        public async Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.StatusCode = response.StatusCode;
            if (response.Location is not null)
            {
                httpContext.Response.Headers.Location = response.Location;
            }

            if (response.Body is not null)
            {
                httpContext.Response.ContentType = response.ContentType ?? "application/json";
                await httpContext.Response.WriteAsync(response.Body, httpContext.RequestAborted);
            }
        }
    }
}
