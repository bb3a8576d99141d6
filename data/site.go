package data

import (
	"fmt"
	"strconv"
	"strings"
)

// Hook names a kind of activation site: the part of a TransformerLens site name after
// "blocks.{L}.", or the whole name of a site outside the blocks.
type Hook string

// The TransformerLens hook names phaseprobe captures (transformer_lens/components/*.py).
const (
	HookEmbed     Hook = "hook_embed"               // token embedding, [example, pos, d_model]
	HookPosEmbed  Hook = "hook_pos_embed"           // positional embedding, [example, pos, d_model]
	HookResidPre  Hook = "hook_resid_pre"           // residual stream entering a block
	HookResidMid  Hook = "hook_resid_mid"           // residual stream between attention and MLP
	HookResidPost Hook = "hook_resid_post"          // residual stream leaving a block
	HookPattern   Hook = "attn.hook_pattern"        // attention pattern, [example, head, query_pos, key_pos]
	HookAttnOut   Hook = "hook_attn_out"            // attention output added to the residual stream
	HookMLPPost   Hook = "mlp.hook_post"            // MLP hidden activation after the non-linearity, d_mlp wide
	HookMLPOut    Hook = "hook_mlp_out"             // MLP output added to the residual stream
	HookLnFinal   Hook = "ln_final.hook_normalized" // the final LayerNorm's output, before the unembedding
)

// globalHooks are the hooks of the sites outside the blocks; blockHooks those inside every block.
var (
	globalHooks = []Hook{HookEmbed, HookPosEmbed, HookLnFinal}
	blockHooks  = []Hook{HookResidPre, HookResidMid, HookResidPost, HookPattern, HookAttnOut, HookMLPPost, HookMLPOut}
)

// Site is an activation site: a hook, inside block Layer or (Layer = -1) outside the blocks. Its
// String is the TransformerLens name that the site column of the tables stores; ParseSite reads
// it back.
type Site struct {
	Layer int
	Hook  Hook
}

// String returns the TransformerLens name, e.g. "blocks.0.hook_resid_post" or "hook_embed".
func (s Site) String() string {
	if s.Layer < 0 {
		return string(s.Hook)
	}
	return "blocks." + strconv.Itoa(s.Layer) + "." + string(s.Hook)
}

// IsPattern reports whether the site is an attention pattern ([example, head, query_pos, key_pos])
// rather than a residual-like activation ([example, pos, width]).
func (s Site) IsPattern() bool { return s.Hook == HookPattern }

// ParseSite parses a TransformerLens site name: one of the hooks outside the blocks
// ("hook_embed", "hook_pos_embed", "ln_final.hook_normalized") or "blocks.{L}.{hook}" with a
// non-negative layer written without leading zeros. Any other name is an error.
func ParseSite(name string) (Site, error) {
	for _, h := range globalHooks {
		if name == string(h) {
			return Site{Layer: -1, Hook: h}, nil
		}
	}
	if rest, ok := strings.CutPrefix(name, "blocks."); ok {
		num, hook, ok := strings.Cut(rest, ".")
		l, err := strconv.Atoi(num)
		if ok && err == nil && l >= 0 && strconv.Itoa(l) == num {
			for _, h := range blockHooks {
				if hook == string(h) {
					return Site{Layer: l, Hook: h}, nil
				}
			}
		}
	}
	return Site{}, fmt.Errorf("unknown activation site %q: want a TransformerLens name such as hook_embed, blocks.0.hook_resid_post, blocks.1.attn.hook_pattern or ln_final.hook_normalized", name)
}
