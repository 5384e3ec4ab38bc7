import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { SignJWT } from 'jose';

/** A public key as the JWKS endpoint serves it (Stytch's `JWK` fields, without the certificate chain). */
export interface PublicJwk {
  readonly kty: 'RSA';
  readonly use: 'sig';
  readonly key_ops: ['verify'];
  readonly alg: 'RS256';
  readonly kid: string;
  readonly n: string;
  readonly e: string;
}

/** The claims of an M2M access token, exactly Stytch's standard set (no `jti`). */
export interface AccessTokenClaims {
  readonly sub: string;
  readonly iss: string;
  readonly aud: readonly string[];
  /** Space-joined; always present, possibly empty (the SDKs call `scope.split(" ")`). */
  readonly scope: string;
  readonly iat: number;
  readonly nbf: number;
  readonly exp: number;
}

interface SigningKey {
  readonly kid: string;
  readonly privateKey: KeyObject;
  readonly jwk: PublicJwk;
}

/**
 * The project's RS256 signing keys. The newest key signs; older keys stay in the JWKS until
 * retired, as Stytch serves both keys for a while after a key rotation, so tokens signed before a
 * rotation keep verifying.
 */
export class SigningKeyRing {
  #keys: SigningKey[] = [];
  readonly #newKid: () => string;

  public constructor(newKid: () => string) {
    this.#newKid = newKid;
    this.rotate({ retirePrevious: false });
  }

  /** Adds a new signing key; with `retirePrevious`, every older key leaves the JWKS. */
  public rotate(options: { readonly retirePrevious?: boolean } = {}): { kid: string } {
    // Synchronous so that `StytchEmulator.rotateSigningKey` can be; a 2048-bit key takes tens of ms.
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const exported = publicKey.export({ format: 'jwk' });
    if (typeof exported.n !== 'string' || typeof exported.e !== 'string') {
      throw new TypeError('The RSA public key could not be exported as a JWK');
    }
    const kid = this.#newKid();
    const key: SigningKey = {
      kid,
      privateKey,
      jwk: { kty: 'RSA', use: 'sig', key_ops: ['verify'], alg: 'RS256', kid, n: exported.n, e: exported.e },
    };
    this.#keys = options.retirePrevious === true ? [key] : [...this.#keys, key];
    return { kid };
  }

  /** The kid of the key that signs new tokens. */
  public get currentKid(): string {
    return this.#current().kid;
  }

  /** Every key not retired, newest last (copies: callers cannot alter the ring). */
  public jwks(): PublicJwk[] {
    return this.#keys.map((key) => ({ ...key.jwk, key_ops: ['verify'] }));
  }

  /** Signs `claims` with the current key: header `{alg: RS256, typ: JWT, kid}`. */
  public async sign(claims: AccessTokenClaims): Promise<string> {
    const key = this.#current();
    return new SignJWT({ scope: claims.scope })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: key.kid })
      .setSubject(claims.sub)
      .setIssuer(claims.iss)
      .setAudience([...claims.aud])
      .setIssuedAt(claims.iat)
      .setNotBefore(claims.nbf)
      .setExpirationTime(claims.exp)
      .sign(key.privateKey);
  }

  #current(): SigningKey {
    const key = this.#keys.at(-1);
    if (key === undefined) throw new Error('The signing key ring is empty');
    return key;
  }
}
