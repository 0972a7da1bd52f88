// Package authtoken is the contract for user access tokens: the claims authsvc
// signs, the JWKS it publishes, and the Verifier every other service (the
// gateway first) uses to check a token locally, without calling authsvc.
//
// An access token is a JWT signed with Ed25519 (alg "EdDSA", RFC 8037) whose
// header names the signing key ("kid") and whose claims are:
//
//	iss    issuer, "parley-auth" by default
//	aud    audience, "parley" by default
//	sub    user id (decimal string, an ids.ID)
//	did    device id (opaque string; authsvc issues decimal ids)
//	roles  role names, e.g. ["admin"]; absent when none
//	iat, nbf, exp
//
// The Verifier accepts nothing but EdDSA: tokens with "none", HMAC (HS256
// keyed with the public key, the classic confusion attack) or RSA/ECDSA
// algorithms are rejected before any key is looked at.
package authtoken
