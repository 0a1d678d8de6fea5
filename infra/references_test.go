package infra_test

import (
	"path/filepath"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// TestModulesReferOnlyToWhatTheyDeclare is the part of `terraform
// validate` that needs no provider: every var., local., data. and
// resource reference in a module names something the module declares.
// (Provider schemas, which validate also checks, cannot be downloaded
// here.)
func TestModulesReferOnlyToWhatTheyDeclare(t *testing.T) {
	t.Parallel()
	for _, cfg := range configs(t) {
		t.Run(cfg.Cloud, func(t *testing.T) {
			t.Parallel()
			dir := generate(t, cfg)
			for _, d := range []*tfDir{parseDir(t, dir), parseDir(t, filepath.Join(dir, "modules", cfg.Cloud))} {
				checkReferences(t, d)
			}
		})
	}
}

func checkReferences(t *testing.T, d *tfDir) {
	t.Helper()
	declared := map[string]bool{}
	for _, b := range d.blocks {
		switch b.Type {
		case "variable":
			declared["var."+b.Labels[0]] = true
		case "locals":
			for name := range b.Body.Attributes {
				declared["local."+name] = true
			}
		case "resource":
			declared[b.Labels[0]+"."+b.Labels[1]] = true
		case "data":
			declared["data."+b.Labels[0]+"."+b.Labels[1]] = true
		case "module":
			declared["module."+b.Labels[0]] = true
		}
	}
	var walk func(body *hclsyntax.Body, iterators map[string]bool)
	check := func(e hclsyntax.Expression, iterators map[string]bool) {
		for _, tr := range hclsyntax.Variables(e) {
			root := tr.RootName()
			if iterators[root] {
				continue
			}
			var key string
			switch root {
			case "each", "count", "path", "self", "terraform":
				continue
			case "var", "local", "module":
				key = root + "." + attrName(tr, 1)
			case "data":
				key = "data." + attrName(tr, 1) + "." + attrName(tr, 2)
			default:
				key = root + "." + attrName(tr, 1)
			}
			if !declared[key] {
				r := tr.SourceRange()
				t.Errorf("%s:%d: %s is not declared", r.Filename, r.Start.Line, key)
			}
		}
	}
	walk = func(body *hclsyntax.Body, iterators map[string]bool) {
		for _, a := range body.Attributes {
			check(a.Expr, iterators)
		}
		for _, b := range body.Blocks {
			inner := iterators
			if b.Type == "dynamic" {
				inner = map[string]bool{b.Labels[0]: true}
				for k := range iterators {
					inner[k] = true
				}
			}
			walk(b.Body, inner)
		}
	}
	for _, b := range d.blocks {
		if b.Type == "variable" {
			// A type constraint (string, list(string)) is no reference.
			for name, a := range b.Body.Attributes {
				if name != "type" {
					check(a.Expr, nil)
				}
			}
			for _, v := range b.Body.Blocks {
				walk(v.Body, map[string]bool{})
			}
			continue
		}
		walk(b.Body, map[string]bool{})
	}
}

func attrName(tr hcl.Traversal, i int) string {
	if i < len(tr) {
		if a, ok := tr[i].(hcl.TraverseAttr); ok {
			return a.Name
		}
	}
	return "?"
}
