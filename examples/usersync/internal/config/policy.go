package config

import (
	"fmt"
	"strings"

	"github.com/usersync/usersync/reconcile"
)

// build makes the reconcile.Policy of the policy section and checks it as
// the Reconciler will.
func (p *Policy) build(c *checker) *reconcile.Policy {
	rp := &reconcile.Policy{
		Mode:           p.Mode.V,
		Absent:         p.Absent.V,
		Grace:          reconcile.Grace{Runs: p.Grace.Runs, For: p.Grace.For.D(), Deactivate: p.Grace.Deactivate},
		NoCreateGroups: p.CreateGroups != nil && !*p.CreateGroups,
		Invite:         p.Invite.V,
		Manager:        reconcile.Manager{Attr: p.Manager.Attr, By: p.Manager.By.matchKey()},
		RemoveGuard:    p.Guards.Remove.guard(),
		UpdateGuard:    p.Guards.Update.guard(),
		CreateGuard:    p.Guards.Create.guard(),
		MaxWarnings:    p.MaxWarnings,
	}
	for _, k := range p.Match {
		rp.MatchKeys = append(rp.MatchKeys, k.matchKey())
	}
	if len(p.Attributes) > 0 {
		rp.Attrs = make(map[string]reconcile.AttrRule, len(p.Attributes))
		for name, r := range p.Attributes {
			rp.Attrs[name] = reconcile.AttrRule{Write: r.Write.V, KeepEmpty: r.KeepEmpty}
		}
	}
	for _, a := range p.Accounts {
		rp.Accounts = append(rp.Accounts, reconcile.Account{File: a.File, Group: a.Group, Name: a.Name})
	}
	if p.Grace.Runs < 0 {
		c.errorf("policy.grace.runs", "must not be negative")
	}
	if err := rp.Validate(); err != nil {
		c.fail(policyKey(err), trimPrefix(err, "reconcile: "))
		return nil
	}
	return rp
}

// policyKey guesses the key a reconcile.Policy.Validate error is about,
// from the field its message names, so that it points at the right line.
func policyKey(err error) string {
	msg := err.Error()
	for field, key := range map[string]string{
		"MatchKeys": "policy.match", "Attrs": "policy.attributes", "Accounts": "policy.accounts",
		"Grace": "policy.grace", "Manager": "policy.manager", "RemoveGuard": "policy.guards.remove",
		"UpdateGuard": "policy.guards.update", "CreateGuard": "policy.guards.create",
		"Absent": "policy.absent", "Mode": "policy.mode",
	} {
		if strings.Contains(msg, field) {
			return key
		}
	}
	return "policy"
}

func (k MatchKey) matchKey() reconcile.MatchKey {
	attr := k.Attr
	if strings.EqualFold(attr, "key") {
		attr = ""
	}
	return reconcile.MatchKey{Attr: attr, IgnoreCase: k.IgnoreCase, Adopt: k.Adopt}
}

func (g Guard) guard() reconcile.Guard {
	rg := reconcile.Guard{Disabled: g.Disabled}
	if g.Percent != nil {
		rg.Percent = float64(*g.Percent)
	}
	if g.Max != nil {
		rg.Max = int(*g.Max)
	}
	if g.MinPopulation != nil {
		rg.MinPopulation = *g.MinPopulation
	}
	return rg
}

// Describe says in one line what the policy does with leavers and when it
// holds a plan, for check.
func (p *Policy) Describe() string {
	mode := "snapshot"
	if p.Mode.V == reconcile.Delta {
		mode = "delta"
	}
	return fmt.Sprintf("%s files; users missing from them: %s", mode, p.Absent.V)
}
