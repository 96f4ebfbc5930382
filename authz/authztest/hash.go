package authztest

import (
	"crypto/sha256"
	"crypto/sha512"
	"hash"
)

func hashFor(alg string) func() hash.Hash {
	switch alg {
	case "HS384":
		return sha512.New384
	case "HS512":
		return sha512.New
	}
	return sha256.New
}
