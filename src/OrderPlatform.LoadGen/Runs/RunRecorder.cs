using HdrHistogram;
using OrderPlatform.LoadGen.Orders;
using OrderPlatform.LoadGen.Reporting;
using OrderPlatform.LoadGen.Scheduling;

namespace OrderPlatform.LoadGen.Runs;

/// <summary>What a run saw, order by order, from many threads at once; summarized once the run is over.</summary>
internal sealed class RunRecorder(ArrivalSchedule schedule, int maxInFlight)
{
    private readonly Lock _lock = new();
    private readonly LongHistogram _latency = LatencySummary.NewHistogram();
    private readonly LongHistogram _postLatency = LatencySummary.NewHistogram();
    private readonly SortedDictionary<string, long> _errors = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, long> _outcomes = new(StringComparer.Ordinal);
    private readonly SortedDictionary<int, (long Finished, TimeSpan Max)> _bySecond = [];
    private readonly List<Guid> _completed = [];
    private long _finished;
    private long _finishedInWindow;
    private long _retries;
    private long _endedWithPost;
    private int _inFlight;
    private int _maxInFlight;

    public int InFlight
    {
        get
        {
            lock (_lock)
            {
                return _inFlight;
            }
        }
    }

    /// <summary>Counts the order in flight; false (and an overload error) when the bound is reached: the order is not sent.</summary>
    public bool TryStart(ScheduledOrder order)
    {
        lock (_lock)
        {
            if (_inFlight >= maxInFlight)
            {
                if (schedule.IsMeasured(order.Sequence))
                {
                    Count(_errors, ErrorKinds.Overload);
                }

                return false;
            }

            _inFlight++;
            _maxInFlight = Math.Max(_maxInFlight, _inFlight);
            return true;
        }
    }

    public void Finish(ScheduledOrder order, OrderResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        lock (_lock)
        {
            _inFlight--;
            if (result.FinishedAt is { } seen && seen >= schedule.WindowStart && seen < schedule.WindowEnd)
            {
                _finishedInWindow++;
            }

            if (!schedule.IsMeasured(order.Sequence))
            {
                return;
            }

            _retries += result.Retries;
            if (result.AcceptedAt is { } accepted)
            {
                _postLatency.RecordValue(LatencySummary.Microseconds(accepted - order.IntendedStart));
            }

            if (result is { Outcome: { } outcome, FinishedAt: { } finished })
            {
                _finished++;
                _endedWithPost += result.EndedWithPost ? 1 : 0;
                _latency.RecordValue(LatencySummary.Microseconds(finished - order.IntendedStart));
                var second = (int)Math.Floor((order.IntendedStart - schedule.WindowStart).TotalSeconds);
                var (count, max) = _bySecond.GetValueOrDefault(second);
                _bySecond[second] = (count + 1, finished - order.IntendedStart > max ? finished - order.IntendedStart : max);
                Count(_outcomes, outcome);
                if (outcome == "Completed" && result.OrderId is { } orderId)
                {
                    _completed.Add(orderId);
                }
            }
            else
            {
                Count(_errors, result.Error ?? ErrorKinds.BadResponse);
            }
        }
    }

    public RunResult Summarize()
    {
        lock (_lock)
        {
            return new RunResult(
                schedule.Rate,
                schedule.Warmup.TotalSeconds,
                schedule.Measured.TotalSeconds,
                schedule.MeasuredCount,
                _finished,
                Math.Round(_finishedInWindow / schedule.Measured.TotalSeconds, 2),
                LatencySummary.From(_latency),
                LatencySummary.From(_postLatency),
                _errors.Values.Sum(),
                new SortedDictionary<string, long>(_errors, StringComparer.Ordinal),
                new SortedDictionary<string, long>(_outcomes, StringComparer.Ordinal),
                _retries,
                _maxInFlight)
            {
                Timeline = [.. _bySecond.Select(s => new SecondOfRun(s.Key, s.Value.Finished, Math.Round(s.Value.Max.TotalMilliseconds, 1)))],
                CompletedOrders = [.. _completed],
                EndedWithPost = _endedWithPost,
            };
        }
    }

    private static void Count(SortedDictionary<string, long> counts, string key) =>
        counts[key] = counts.GetValueOrDefault(key) + 1;
}
