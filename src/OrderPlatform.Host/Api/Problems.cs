namespace OrderPlatform.Host.Api;

/// <summary>The problem types this API answers with; each is an application/problem+json document.</summary>
public static class Problems
{
    private const string TypeBase = "https://order-platform.example/problems/";

    public static IResult Validation(string detail, IDictionary<string, string[]>? errors = null) =>
        errors is null
            ? Results.Problem(detail: detail, statusCode: StatusCodes.Status400BadRequest, title: "The request is not valid.", type: TypeBase + "validation")
            : Results.ValidationProblem(errors, detail: detail, title: "The request is not valid.", type: TypeBase + "validation");

    public static IResult MissingIdempotencyKey() => Results.Problem(
        detail: "Every POST needs an Idempotency-Key header: 1 to 200 visible ASCII characters, unique per intended effect.",
        statusCode: StatusCodes.Status400BadRequest,
        title: "Idempotency-Key header missing or invalid.",
        type: TypeBase + "idempotency-key-missing");

    public static IResult KeyReusedWithOtherRequest() => Results.Problem(
        detail: "This Idempotency-Key was already used with a different request. Use a new key for a new request.",
        statusCode: StatusCodes.Status422UnprocessableEntity,
        title: "Idempotency-Key reused with another request.",
        type: TypeBase + "idempotency-key-reused");

    public static IResult KeyInProgress() => Results.Problem(
        detail: "A request with this Idempotency-Key is still being processed. Retry shortly with the same key.",
        statusCode: StatusCodes.Status409Conflict,
        title: "Request in progress.",
        type: TypeBase + "idempotency-key-in-progress");

    public static IResult UnsupportedMediaType() => Results.Problem(
        detail: "Send the body as application/json.",
        statusCode: StatusCodes.Status415UnsupportedMediaType,
        title: "Unsupported media type.",
        type: TypeBase + "unsupported-media-type");

    public static IResult TooLarge(long limit) => Results.Problem(
        detail: $"The body may be at most {limit} bytes.",
        statusCode: StatusCodes.Status413PayloadTooLarge,
        title: "Request body too large.",
        type: TypeBase + "too-large");

    public static IResult MalformedJson(string detail) => Results.Problem(
        detail: detail,
        statusCode: StatusCodes.Status400BadRequest,
        title: "Malformed JSON.",
        type: TypeBase + "malformed-json");

    public static IResult UnknownSkus(IEnumerable<string> skus) => Results.Problem(
        detail: $"Unknown SKU(s): {string.Join(", ", skus)}. Restock a SKU before ordering it.",
        statusCode: StatusCodes.Status422UnprocessableEntity,
        title: "Unknown SKU.",
        type: TypeBase + "unknown-sku");

    public static IResult NotFound(string detail) => Results.Problem(
        detail: detail, statusCode: StatusCodes.Status404NotFound, title: "Not found.", type: TypeBase + "not-found");

    public static IResult Conflict(string detail) => Results.Problem(
        detail: detail, statusCode: StatusCodes.Status409Conflict, title: "Not possible in the current state.", type: TypeBase + "conflict");

    public static IResult Overloaded(int limit) => Results.Problem(
        detail: $"This silo has {limit} orders under way, as many as it takes. Nothing was written: retry after the Retry-After "
            + "seconds with the same Idempotency-Key.",
        statusCode: StatusCodes.Status503ServiceUnavailable,
        title: "Too many orders under way.",
        type: TypeBase + "overloaded");

    public static IResult Unavailable(string detail) => Results.Problem(
        detail: detail, statusCode: StatusCodes.Status503ServiceUnavailable, title: "Temporarily unavailable.", type: TypeBase + "unavailable");
}
