package inject

import (
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Operation is one operation of a JSON patch (RFC 6902). The injector only
// adds.
type Operation struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value"`
}

// patch turns the plan into add operations against pod as the API server
// sent it: a list or map the pod lacks is added whole, otherwise the new
// items are added to it. The sidecar goes first among the init containers,
// so that it runs while the pod's other init containers do.
func (p *plan) patch(pod *corev1.Pod) []Operation {
	var ops []Operation
	if pod.Spec.InitContainers == nil {
		ops = append(ops, Operation{"add", "/spec/initContainers", []corev1.Container{p.sidecar}})
	} else {
		ops = append(ops, Operation{"add", "/spec/initContainers/0", p.sidecar})
	}
	if p.nginx != nil {
		ops = append(ops, Operation{"add", "/spec/containers/-", *p.nginx})
	}
	if pod.Spec.Volumes == nil {
		ops = append(ops, Operation{"add", "/spec/volumes", p.volumes})
	} else {
		for _, v := range p.volumes {
			ops = append(ops, Operation{"add", "/spec/volumes/-", v})
		}
	}
	if pod.Annotations == nil {
		ops = append(ops, Operation{"add", "/metadata/annotations", p.annotations})
	} else {
		for _, k := range sortedKeys(p.annotations) {
			ops = append(ops, Operation{"add", "/metadata/annotations/" + escapePointer(k), p.annotations[k]})
		}
	}
	return ops
}

// escapePointer escapes a key for a JSON pointer (RFC 6901).
func escapePointer(s string) string {
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(s)
}

func sortedKeys(m map[string]string) []string { return slices.Sorted(maps.Keys(m)) }
