// Package schemagen builds schema.json, the JSON Schema (draft 2020-12) of aiflow flow
// files, from the step and provider registries, so that editors, `aiflow validate` and
// the docs describe the same language. Step kinds, their with: inputs (types, enums,
// defaults, Field.Doc), provider kinds and their settings come from the registries; the
// structural keys come from the key lists in package spec.
//
// schema.json at the repository root is a golden file: the package's tests fail when it
// differs from what Generate returns for the built-in catalogue, and rewrite it with
//
//	go test ./internal/schemagen -run TestSchemaJSON -update
package schemagen

//go:generate go test -run TestSchemaJSON -update .
