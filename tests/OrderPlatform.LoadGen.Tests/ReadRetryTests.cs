using System.Net;
using System.Net.Http.Headers;
using System.Text;
using OrderPlatform.LoadGen.Orders;
using OrderPlatform.LoadGen.Scheduling;
using OrderPlatform.LoadGen.Tests.Infrastructure;

namespace OrderPlatform.LoadGen.Tests;

/// <summary>
/// How the load generator reads an order back after its POST was answered 202, when a read fails: a silo that lost the
/// saga it was waiting on answers 503 with Retry-After (decision record 0047), and the client waits that long before
/// reading again, as it does before sending a POST again. The answers come from a scripted handler: a real silo gives
/// a 503 to a read only when it is killed under it, which the integration tests do.
/// </summary>
public sealed class ReadRetryTests
{
    private static readonly Guid OrderId = Guid.Parse("0193a1b2-0000-7000-8000-000000000001");

    [Fact]
    public async Task A_failed_read_is_sent_again_to_the_next_target_after_the_backoff_or_the_answers_Retry_After()
    {
        var answers = new ScriptedAnswers(
            (HttpMethod.Post, () => Json(HttpStatusCode.Accepted, $$"""{"orderId":"{{OrderId}}","status":"Pending"}""")),
            (HttpMethod.Get, () => Problem(retryAfterSeconds: null)),
            (HttpMethod.Get, () => Problem(retryAfterSeconds: 1)),
            (HttpMethod.Get, () => Json(HttpStatusCode.OK, """{"status":"Completed","saga":{"phase":"Finished","outcome":"Completed"}}""", waited: true)));
        using var http = new HttpClient(answers);
        var time = new SteppedTime();
        var targets = new[] { new Uri("http://127.0.0.1:5001/"), new Uri("http://127.0.0.1:5002/") };
        var driver = new HttpOrderDriver(http, targets, new OrderMix("sku", 1, ["tok_approve"]), "run", TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(25), waitInPost: false);

        var run = driver.RunAsync(new ScheduledOrder(0, TimeSpan.Zero), new RunClock(time), CancellationToken.None);

        // A 503 without Retry-After: the first retry's backoff, 50 ms (not the 25 ms poll interval).
        var first = await time.NextTimerAsync("the wait after a 503 without Retry-After");
        Assert.Equal(TimeSpan.FromMilliseconds(50), first);
        time.Advance(first);

        // A 503 with Retry-After: 1: at least that long, spread by up to half of it again.
        var second = await time.NextTimerAsync("the wait after a 503 with Retry-After: 1");
        Assert.InRange(second, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1.5));
        time.Advance(second);

        var result = await run;
        Assert.Equal("Completed", result.Outcome);
        Assert.Null(result.Error);
        Assert.Equal(2, result.Retries);
        Assert.Equal(
            [
                "POST http://127.0.0.1:5001/orders",
                $"GET http://127.0.0.1:5001/orders/{OrderId}",
                $"GET http://127.0.0.1:5002/orders/{OrderId}",
                $"GET http://127.0.0.1:5001/orders/{OrderId}",
            ],
            answers.Requests);
    }

    private static HttpResponseMessage Json(HttpStatusCode status, string body, bool waited = false)
    {
        var response = new HttpResponseMessage(status) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if (waited)
        {
            response.Headers.TryAddWithoutValidation("Preference-Applied", "wait=30");
        }

        return response;
    }

    private static HttpResponseMessage Problem(int? retryAfterSeconds)
    {
        var response = new HttpResponseMessage(HttpStatusCode.ServiceUnavailable)
        {
            Content = new StringContent("""{"type":"unavailable","title":"Unavailable","status":503}""", Encoding.UTF8, "application/problem+json"),
        };
        if (retryAfterSeconds is { } seconds)
        {
            response.Headers.RetryAfter = new RetryConditionHeaderValue(TimeSpan.FromSeconds(seconds));
        }

        return response;
    }

    /// <summary>Answers requests in the order given, each only to its method, and records what was asked.</summary>
    private sealed class ScriptedAnswers(params (HttpMethod Method, Func<HttpResponseMessage> Answer)[] script) : HttpMessageHandler
    {
        private int _next;

        public List<string> Requests { get; } = [];

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Requests.Add($"{request.Method} {request.RequestUri}");
            Assert.True(_next < script.Length, $"No answer scripted for request {_next + 1}, {request.Method} {request.RequestUri}.");
            var (method, answer) = script[_next++];
            Assert.Equal(method, request.Method);
            return Task.FromResult(answer());
        }
    }
}
