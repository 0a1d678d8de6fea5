package infra

import (
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclwrite"

	"github.com/modelfn/modelfn/infra/modules"
)

// module is what the root module needs to know about an embedded module:
// its variables and outputs (in file order) and its provider requirements.
type module struct {
	cloud     string
	files     []string // paths in modules.FS
	variables []variable
	outputs   []output
	providers *hclwrite.Body // the required_providers block's body
}

type variable struct {
	name        string
	description hclwrite.Tokens
	typ         hclwrite.Tokens
	def         hclwrite.Tokens // nil: required
}

type output struct {
	name        string
	description hclwrite.Tokens
	sensitive   bool
}

func loadModule(cloud string) (*module, error) {
	files, err := fs.Glob(modules.FS, cloud+"/*.tf")
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("module %s: no embedded .tf files (%v)", cloud, err)
	}
	sort.Strings(files)
	m := &module{cloud: cloud, files: files}
	for _, name := range files {
		src, err := fs.ReadFile(modules.FS, name)
		if err != nil {
			return nil, fmt.Errorf("module %s: %w", name, err)
		}
		f, diags := hclwrite.ParseConfig(src, name, hcl.InitialPos)
		if diags.HasErrors() {
			return nil, fmt.Errorf("module %s: %w", name, diags)
		}
		for _, b := range f.Body().Blocks() {
			switch b.Type() {
			case "variable":
				v := variable{name: b.Labels()[0]}
				v.description = attrTokens(b.Body(), "description")
				v.typ = attrTokens(b.Body(), "type")
				v.def = attrTokens(b.Body(), "default")
				if v.typ == nil {
					return nil, fmt.Errorf("module %s: variable %q has no type", name, v.name)
				}
				m.variables = append(m.variables, v)
			case "output":
				o := output{name: b.Labels()[0], description: attrTokens(b.Body(), "description")}
				if s := attrTokens(b.Body(), "sensitive"); s != nil {
					o.sensitive = strings.TrimSpace(string(s.Bytes())) == "true"
				}
				m.outputs = append(m.outputs, o)
			case "terraform":
				for _, inner := range b.Body().Blocks() {
					if inner.Type() == "required_providers" {
						m.providers = inner.Body()
					}
				}
			}
		}
	}
	if m.providers == nil {
		return nil, fmt.Errorf("module %s: no required_providers block", cloud)
	}
	return m, nil
}

func attrTokens(b *hclwrite.Body, name string) hclwrite.Tokens {
	a := b.GetAttribute(name)
	if a == nil {
		return nil
	}
	return a.Expr().BuildTokens(nil)
}

func (m *module) variable(name string) (variable, bool) {
	for _, v := range m.variables {
		if v.name == name {
			return v, true
		}
	}
	return variable{}, false
}

// source is where the root module finds the module's copy.
func (m *module) source() string { return "./" + path.Join("modules", m.cloud) }
