using OrderPlatform.InvariantChecker.Reporting;
using OrderPlatform.InvariantChecker.Store;

namespace OrderPlatform.InvariantChecker.Streams;

/// <summary>
/// Invariant 6: every stream (saga streams included) holds exactly versions 1..max, each once. The
/// (stream_id, version) key rules out duplicates only while it exists; a gap it does not rule out at all,
/// since an append writes whatever version its caller computed.
/// </summary>
internal static class StreamContinuityCheck
{
    public const string Name = "streams-contiguous";

    private const string PerStream = """
        with s as (
            select stream_id, count(*) as n, count(distinct version) as d, min(version) as lo, max(version) as hi
            from events group by stream_id
        )
        """;

    public static async Task<InvariantResult> RunAsync(StoreSnapshot snapshot, int maxExamples, CancellationToken cancellationToken)
    {
        var result = new InvariantResultBuilder(6, Name, "Streams have no gaps and no duplicate versions.", maxExamples);
        var gaps = result.Rule("version gap");
        var duplicates = result.Rule("duplicate version");

        long streams = 0, events = 0;
        var kinds = new List<string>();
        await snapshot.ReadAsync(
            PerStream + """
            select split_part(stream_id, '-', 1) as kind, count(*), sum(n)::bigint from s group by 1 order by 1
            """,
            row =>
            {
                streams += row.GetInt64(1);
                events += row.GetInt64(2);
                kinds.Add($"{row.GetString(0)} {row.GetInt64(1)}");
            },
            cancellationToken).ConfigureAwait(false);

        var (gapCount, gapExamples) = await snapshot.CountWithExamplesAsync(
            PerStream + """
            select s.stream_id, s.d, s.hi,
                   (select string_agg(g::text, ',' order by g)
                      from (select g from generate_series(1, s.hi) g except select version from events e where e.stream_id = s.stream_id
                            order by g limit 5) m),
                   count(*) over ()
            from s where s.lo <> 1 or s.hi <> s.d
            order by s.stream_id limit $1
            """,
            row => $"{row.GetString(0)}: {row.GetInt64(1)} version(s) up to {row.GetInt32(2)}, missing {(row.IsDBNull(3) ? "none below 1" : row.GetString(3))}",
            cancellationToken,
            maxExamples).ConfigureAwait(false);
        gaps.Add(gapCount, gapExamples);

        var (duplicateCount, duplicateExamples) = await snapshot.CountWithExamplesAsync(
            PerStream + """
            select s.stream_id, s.n - s.d, count(*) over () from s where s.n <> s.d order by s.stream_id limit $1
            """,
            row => $"{row.GetString(0)}: {row.GetInt64(1)} duplicate version(s)",
            cancellationToken,
            maxExamples).ConfigureAwait(false);
        duplicates.Add(duplicateCount, duplicateExamples);

        result.Count("streams", streams);
        result.Count("events", events);
        result.Note("streams by kind: " + (kinds.Count == 0 ? "none" : string.Join(", ", kinds)));
        return result.Build();
    }
}
