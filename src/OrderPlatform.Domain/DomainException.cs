namespace OrderPlatform.Domain;

/// <summary>A command that breaks a business rule. The caller's input or timing is wrong, not the system.</summary>
public class DomainException(string message) : Exception(message);

/// <summary>A command that is not allowed in the aggregate's current state (for example confirming a cancelled order).</summary>
public sealed class InvalidTransitionException(string message) : DomainException(message);
