namespace OrderPlatform.Domain;

/// <summary>An amount in one ISO 4217 currency. Decimal only: money is never floating point.</summary>
public readonly record struct Money
{
    public Money(decimal amount, string currency)
    {
        if (!IsIsoCurrency(currency))
        {
            throw new DomainException($"'{currency}' is not an ISO 4217 currency code (three upper-case letters).");
        }

        Amount = amount;
        Currency = currency;
    }

    public decimal Amount { get; }

    public string Currency { get; }

    public static bool IsIsoCurrency(string? code) =>
        code is { Length: 3 } && code.All(c => c is >= 'A' and <= 'Z');

    public static Money Zero(string currency) => new(0m, currency);

    public Money Add(Money other)
    {
        if (other.Currency != Currency)
        {
            throw new DomainException($"Cannot add {other.Currency} to {Currency}.");
        }

        return new Money(Amount + other.Amount, Currency);
    }

    public Money Multiply(int quantity) => new(Amount * quantity, Currency);

    public override string ToString() => $"{Amount:0.00##} {Currency}";
}
