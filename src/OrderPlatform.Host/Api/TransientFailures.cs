using System.Data.Common;
using Microsoft.AspNetCore.Diagnostics;

namespace OrderPlatform.Host.Api;

/// <summary>
/// Requests cut off by the cluster rather than refused by a grain: the grain's silo left (the call's message was
/// rejected), the call ran past its timeout, or the database failed in a way its driver calls transient. Such a request
/// is answered 503 with Retry-After, never 500: sent again (a POST with the same Idempotency-Key), it reaches the grain
/// on a live silo. Anything else stays the 500 of a fault (decision record 0047).
/// </summary>
public sealed class TransientFailures(ILogger<TransientFailures> logger) : IExceptionHandler
{
    public static bool IsTransient(Exception e) =>
        e is Orleans.Runtime.OrleansMessageRejectionException or TimeoutException or DbException { IsTransient: true };

    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (!IsTransient(exception))
        {
            return false;
        }

        logger.LogWarning(exception, "{Method} {Path} was cut off by a transient failure; answering 503.", httpContext.Request.Method, httpContext.Request.Path);
        httpContext.Response.Headers.RetryAfter = "1";
        await Problems.Unavailable("A silo did not answer in time or left the cluster while this request waited on it. Send it again after the "
            + "Retry-After seconds (a POST with the same Idempotency-Key).").ExecuteAsync(httpContext);
        return true;
    }
}
