using System.Globalization;

namespace OrderPlatform.InvariantChecker.Reporting;

internal static class Format
{
    public static string Age(TimeSpan age) => age switch
    {
        { TotalSeconds: < 120 } => $"{age.TotalSeconds:0} s",
        { TotalMinutes: < 120 } => $"{age.TotalMinutes:0} min",
        { TotalHours: < 48 } => $"{age.TotalHours:0} h",
        _ => $"{age.TotalDays:0} d",
    };

    public static string Money(decimal amount) => amount.ToString("0.00##", CultureInfo.InvariantCulture);
}
