package data

import "testing"

// TestParseSite: every hook's TransformerLens name (transformer_lens/components/*.py) parses back to
// its Site, and names that are not TransformerLens's are errors.
func TestParseSite(t *testing.T) {
	cases := []struct {
		name string
		want Site
	}{
		{"hook_embed", Site{-1, HookEmbed}},
		{"hook_pos_embed", Site{-1, HookPosEmbed}},
		{"ln_final.hook_normalized", Site{-1, HookLnFinal}},
		{"blocks.0.hook_resid_pre", Site{0, HookResidPre}},
		{"blocks.3.hook_resid_mid", Site{3, HookResidMid}},
		{"blocks.1.hook_resid_post", Site{1, HookResidPost}},
		{"blocks.12.attn.hook_pattern", Site{12, HookPattern}},
		{"blocks.0.hook_attn_out", Site{0, HookAttnOut}},
		{"blocks.2.mlp.hook_post", Site{2, HookMLPPost}},
		{"blocks.0.hook_mlp_out", Site{0, HookMLPOut}},
	}
	for _, c := range cases {
		got, err := ParseSite(c.name)
		if err != nil || got != c.want {
			t.Errorf("ParseSite(%q) = %v, %v; want %v", c.name, got, err, c.want)
		}
		if s := c.want.String(); s != c.name {
			t.Errorf("%#v.String() = %q, want %q", c.want, s, c.name)
		}
		if got.IsPattern() != (c.want.Hook == HookPattern) {
			t.Errorf("%s: IsPattern() = %v", c.name, got.IsPattern())
		}
	}
	for _, bad := range []string{"", "hook_resid_pre", "blocks.x.hook_resid_pre", "blocks.01.hook_resid_pre",
		"blocks.-1.hook_resid_pre", "blocks.+1.hook_resid_pre", "blocks.0.hook_nope", "blocks.0.hook_embed",
		"blocks.0", "blocks..hook_resid_pre", "blocks.0.ln_final.hook_normalized", "Hook_embed"} {
		if s, err := ParseSite(bad); err == nil {
			t.Errorf("ParseSite(%q) = %v, want an error", bad, s)
		}
	}
}
