// Package handofftest validates handoff packages against the published schema
// (docs/schema/handoff-v1.json) in tests of any package that produces them.
package handofftest

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// SchemaPath is the published schema, found from this file so tests in any directory can use it.
func SchemaPath() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "docs", "schema", "handoff-v1.json")
}

// Schema compiles the published schema or fails the test.
func Schema(t testing.TB) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open(SchemaPath())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("handoff-v1.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("handoff-v1.json")
	if err != nil {
		t.Fatal(err)
	}
	return sch
}

// Check returns why pkg (a package value or its decoded JSON) does not match the schema, or nil.
func Check(sch *jsonschema.Schema, pkg any) error {
	b, err := json.Marshal(pkg)
	if err != nil {
		return err
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return err
	}
	return sch.Validate(v)
}

// Validate fails the test when pkg does not match the schema.
func Validate(t testing.TB, sch *jsonschema.Schema, pkg any) {
	t.Helper()
	if err := Check(sch, pkg); err != nil {
		b, _ := json.Marshal(pkg)
		t.Fatalf("package does not match docs/schema/handoff-v1.json: %v\n%s", err, b)
	}
}
