package assemble

import (
	"fmt"

	"github.com/lbauthz/lbauthz/authz"
	"github.com/lbauthz/lbauthz/authz/config"
	configv1 "github.com/lbauthz/lbauthz/proto/lbauthz/config/v1"
)

// limitsFromConfig compiles a loaded auth_limits section, whose defaults
// the config's loader has applied.
func limitsFromConfig(c *configv1.AuthLimits) (*authz.Limits, error) {
	rate := func(r *configv1.RateLimit) *authz.RateLimit {
		if r.GetDisabled() {
			return nil
		}
		return &authz.RateLimit{PerMinute: r.GetPerMinute(), Burst: r.GetBurst()}
	}
	o := c.GetOrigins()
	origins := make([]string, 0, len(o.GetAllowed()))
	for i, s := range o.GetAllowed() {
		norm, err := config.ParseOrigin(s)
		if err != nil {
			return nil, fmt.Errorf("origins.allowed[%d]: %q %w", i, s, err)
		}
		origins = append(origins, norm)
	}
	return authz.NewLimits(authz.LimitsOptions{
		PerUser: rate(c.GetPerUser()), PerAddress: rate(c.GetPerAddress()), MaxTracked: int(c.GetMaxTracked()),
		Origins: origins, RefuseWithoutOrigin: o.GetRefuseWithoutOrigin(), OriginsDisabled: o.GetDisabled(),
	}), nil
}
