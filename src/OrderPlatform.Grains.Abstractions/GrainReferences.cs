namespace OrderPlatform.Grains;

/// <summary>
/// Grain references by key for the hot paths (each order asks for about ten). Orleans' <c>GetGrain&lt;T&gt;(key)</c>
/// works out the interface's grain type on every call, reading its attributes by reflection and formatting its type
/// name; here that happens once per interface, from the first reference made the ordinary way, and later references
/// are made from the grain type and the key alone. The grain type of an interface is fixed for the life of the
/// process (it follows from the interface's attributes and the grain classes loaded), so one answer serves every
/// grain factory.
/// </summary>
public static class GrainReferences
{
    public static TGrain Get<TGrain>(this IGrainFactory grains, Guid key)
        where TGrain : IGrainWithGuidKey =>
        Known<TGrain>(grains, GrainIdKeyExtensions.CreateGuidKey(key)) ?? Learn(grains.GetGrain<TGrain>(key));

    public static TGrain Get<TGrain>(this IGrainFactory grains, string key)
        where TGrain : IGrainWithStringKey =>
        Known<TGrain>(grains, IdSpan.Create(key)) ?? Learn(grains.GetGrain<TGrain>(key));

    /// <summary>The reference, when the interface's grain type is known already.</summary>
    private static TGrain? Known<TGrain>(IGrainFactory grains, IdSpan key)
    {
        ArgumentNullException.ThrowIfNull(grains);
        return Volatile.Read(ref Types<TGrain>.Known) is { } known ? (TGrain)grains.GetGrain(GrainId.Create(known.Grain, key), known.Interface) : default;
    }

    private static TGrain Learn<TGrain>(TGrain reference)
    {
        if (reference is GrainReference grainReference)
        {
            Volatile.Write(ref Types<TGrain>.Known, new Resolved(grainReference.GrainId.Type, grainReference.InterfaceType));
        }

        return reference;
    }

    private sealed record Resolved(GrainType Grain, GrainInterfaceType Interface);

    private static class Types<TGrain>
    {
        // Written with the same value by whichever calls come first; a race only means resolving more than once.
        public static Resolved? Known;
    }
}
