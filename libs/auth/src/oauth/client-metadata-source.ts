/** A client's metadata document as fetched, with how long it may be cached. */
export interface FetchedClientMetadata {
  readonly document: unknown;
  /** From the response's Cache-Control; the caller clamps it. */
  readonly maxAgeSeconds: number | null;
}

/** Why a metadata document could not be used; the message is safe to show the client's user. */
export class ClientMetadataFetchError extends Error {}

/**
 * Where Client ID Metadata Documents come from (draft-ietf-oauth-client-id-metadata-document): an
 * https URL that is the client's id. The adapter guards against server-side request forgery.
 */
export abstract class ClientMetadataSource {
  /** Fetches the document at `url`; throws ClientMetadataFetchError when it cannot be used. */
  abstract fetch(url: URL): Promise<FetchedClientMetadata>;
}
