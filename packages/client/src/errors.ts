/** The one error every client call throws: the API's `{error: {code, message}}`, or `unreachable` (status 0). */
export class ApiError extends Error {
  override readonly name = "ApiError";
  constructor(
    /** The HTTP status; 0 when the server could not be reached or answered nonsense. */
    readonly status: number,
    /** The API's error code (`not_found`, `conflict`, ...), `unreachable`, or `invalid_response`. */
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}
