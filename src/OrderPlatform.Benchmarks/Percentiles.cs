namespace OrderPlatform.Benchmarks;

public static class Percentiles
{
    /// <summary>The value at quantile <paramref name="q"/> (nearest rank) of the samples; NaN for none.</summary>
    public static double Of(IReadOnlyList<double> samples, double q)
    {
        if (samples.Count == 0)
        {
            return double.NaN;
        }

        var sorted = samples.Order().ToArray();
        var rank = (int)Math.Ceiling(q * sorted.Length) - 1;
        return sorted[Math.Clamp(rank, 0, sorted.Length - 1)];
    }
}
