package session

import "testing"

func TestOrganizationRule_PicksThePathThroughTheTemplate(t *testing.T) {
	tests := []struct {
		name, path, template string
		doc                  map[string]any
		want                 string
	}{
		{"string at a nested path", "workspace.id", "", map[string]any{"workspace": map[string]any{"id": "acme"}}, "acme"},
		{"number", "tenant", "", map[string]any{"tenant": float64(42)}, "42"},
		{"template", "tenant", "ws-{value}", map[string]any{"tenant": "acme"}, "ws-acme"},
		{"absent is the default organization", "tenant", "ws-{value}", map[string]any{}, ""},
		{"empty is the default organization", "tenant", "", map[string]any{"tenant": ""}, ""},
		{"a list is not an organization", "tenant", "", map[string]any{"tenant": []any{"a"}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewOrganizationRule(tt.path, tt.template)
			if err != nil {
				t.Fatal(err)
			}
			if got := r.Of(tt.doc); got != tt.want {
				t.Errorf("Of = %q, want %q", got, tt.want)
			}
		})
	}
	if _, err := NewOrganizationRule("tenant", "ws-"); err == nil {
		t.Error("a template without {value} was accepted")
	}
	var none *OrganizationRule
	if got := none.Of(map[string]any{"tenant": "x"}); got != "" {
		t.Errorf("nil rule gave %q", got)
	}
}
