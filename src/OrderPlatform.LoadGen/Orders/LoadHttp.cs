namespace OrderPlatform.LoadGen.Orders;

/// <summary>The one HTTP client of a run.</summary>
internal static class LoadHttp
{
    /// <summary>
    /// HTTP/1.1 holds one request per connection, and every order in flight holds one (its POST or its long GET):
    /// the pool must allow as many connections as orders may be in flight, or orders would queue inside the client
    /// and their latency would be the client's. No overall timeout: each request gets its own from the order's deadline.
    /// </summary>
    public static HttpClient Create(int maxInFlight) =>
        new(new SocketsHttpHandler
        {
            MaxConnectionsPerServer = maxInFlight + 16,
            ConnectTimeout = TimeSpan.FromSeconds(5),
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
            UseProxy = false,
            UseCookies = false,
            AllowAutoRedirect = false,
        })
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
}
