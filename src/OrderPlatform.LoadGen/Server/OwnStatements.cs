namespace OrderPlatform.LoadGen.Server;

/// <summary>
/// The load generator's own statements against the platform's database (its samples during a run, its read of the
/// orders' milestones after one) begin with <see cref="Tag"/>, which pg_stat_statements keeps in the text it shows: the
/// benchmark's statement profile leaves them out of the platform's shares and reports them apart.
/// </summary>
internal static class OwnStatements
{
    public const string Tag = "/* load generator */ ";
}
