// Package schema holds vitrine's public JSON Schemas, embedded in the binary
// so the file in the repository is the contract that the code validates
// against.
package schema

import _ "embed"

// ShoppableV1 is the JSON Schema (draft 2020-12) of vitrine.shoppable/v1.
//
//go:embed shoppable.v1.json
var ShoppableV1 []byte

// ShoppableV1ID is the $id of ShoppableV1.
const ShoppableV1ID = "https://vitrine.dev/schema/shoppable.v1.json"
