package inject

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Scope says which of the pods that reach the webhook want the sidecar.
type Scope int

const (
	// NamespaceOptedIn is for pods of a namespace labelled
	// lbauthz.io/inject=enabled: every pod gets the sidecar unless it says
	// lbauthz.io/inject: "false".
	NamespaceOptedIn Scope = iota
	// PodOptedIn is for pods of other namespaces: only a pod that says
	// lbauthz.io/inject: "true" (label or annotation) gets the sidecar.
	PodOptedIn
)

// Refusal is a pod that asked for the sidecar but cannot get it as written:
// it must not be admitted unprotected. Annotation names what to fix.
type Refusal struct {
	Annotation string
	Reason     string
}

func (r *Refusal) Error() string {
	return fmt.Sprintf("%s: %s; the pod asked for the lbauthz sidecar and is not admitted without it", r.Annotation, r.Reason)
}

func refuse(annotation, format string, args ...any) *Refusal {
	return &Refusal{Annotation: annotation, Reason: fmt.Sprintf(format, args...)}
}

// Injector decides what a pod gets. Its zero value is not usable: see New.
type Injector struct {
	opts Options
}

// New returns an Injector with the given options, or the error of
// Options.Validate.
func New(opts Options) (*Injector, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	return &Injector{opts: opts}, nil
}

// Outcome is what Mutate decided for one pod.
type Outcome struct {
	// Patch is the JSON patch (RFC 6902) to apply, empty when the pod is
	// admitted unchanged.
	Patch []Operation
	// Skipped says why a pod is left unchanged ("opted out", "not opted
	// in", "already injected"); empty when Patch is not.
	Skipped string
	// FrontDoor is the front door of an injected pod.
	FrontDoor string
}

// Mutate returns the patch that gives pod the sidecar, nothing for a pod
// that does not want it or already has it, or a *Refusal for a pod that
// wants it but whose annotations cannot be honoured.
func (in *Injector) Mutate(pod *corev1.Pod, scope Scope) (Outcome, error) {
	want, err := wantsSidecar(pod, scope)
	if err != nil {
		return Outcome{}, err
	}
	if !want {
		if scope == NamespaceOptedIn {
			return Outcome{Skipped: "opted out"}, nil
		}
		return Outcome{Skipped: "not opted in"}, nil
	}
	if hasContainer(pod, ContainerName) {
		return Outcome{Skipped: "already injected"}, nil
	}
	p, err := in.plan(pod)
	if err != nil {
		return Outcome{}, err
	}
	return Outcome{Patch: p.patch(pod), FrontDoor: p.frontDoor}, nil
}

// wantsSidecar reads lbauthz.io/inject from the pod's labels and
// annotations. Only "true" and "false" are understood; anything else, or a
// label and an annotation that disagree, is refused rather than guessed.
func wantsSidecar(pod *corev1.Pod, scope Scope) (bool, error) {
	label, hasLabel := pod.Labels[AnnotationInject]
	ann, hasAnn := pod.Annotations[AnnotationInject]
	for _, v := range []struct {
		has   bool
		value string
		where string
	}{{hasLabel, label, "label"}, {hasAnn, ann, "annotation"}} {
		if v.has && v.value != "true" && v.value != "false" {
			return false, refuse(AnnotationInject, "%s value %q: want \"true\" or \"false\"", v.where, v.value)
		}
	}
	if hasLabel && hasAnn && label != ann {
		return false, refuse(AnnotationInject, "the label says %q and the annotation %q", label, ann)
	}
	say := label
	if !hasLabel {
		say = ann
	}
	if scope == NamespaceOptedIn {
		return say != "false", nil
	}
	return say == "true", nil
}

func hasContainer(pod *corev1.Pod, name string) bool {
	for _, c := range pod.Spec.InitContainers {
		if c.Name == name {
			return true
		}
	}
	for _, c := range pod.Spec.Containers {
		if c.Name == name {
			return true
		}
	}
	return false
}

// plan is what one pod gets, worked out from its annotations.
type plan struct {
	frontDoor string
	sidecar   corev1.Container
	nginx     *corev1.Container
	volumes   []corev1.Volume
	// annotations the injector adds to the pod.
	annotations map[string]string
}

func (in *Injector) plan(pod *corev1.Pod) (*plan, error) {
	o := in.opts
	ann := pod.Annotations
	p := &plan{frontDoor: o.FrontDoor, annotations: map[string]string{}}
	if v, ok := ann[AnnotationFrontDoor]; ok {
		if v != FrontDoorIstio && v != FrontDoorNginx {
			return nil, refuse(AnnotationFrontDoor, "%q is not a front door: want %q or %q", v, FrontDoorIstio, FrontDoorNginx)
		}
		p.frontDoor = v
	}
	configMap, err := objectNameAnnotation(ann, AnnotationConfig, o.ConfigMap)
	if err != nil {
		return nil, err
	}
	secret, err := objectNameAnnotation(ann, AnnotationSecret, o.Secret)
	if err != nil {
		return nil, err
	}
	res, err := in.resources(ann)
	if err != nil {
		return nil, err
	}

	used := portsInUse(pod)
	for _, port := range []int32{o.GRPCPort, o.HTTPPort} {
		if c, ok := used[port]; ok {
			return nil, refuse(AnnotationInject, "container %q already uses port %d, which the lbauthz sidecar listens on", c, port)
		}
	}
	for _, v := range []string{configVolume, secretVolume, nginxConfigVolume, nginxPodVolume, nginxRunVolume} {
		if slices.ContainsFunc(pod.Spec.Volumes, func(pv corev1.Volume) bool { return pv.Name == v }) {
			return nil, refuse(AnnotationInject, "the pod already has a volume named %q", v)
		}
	}

	// Secret files: 0440 is enough when the pod's fsGroup puts lbauthz in
	// the files' group; without one they belong to root, so lbauthz needs
	// them readable by others. Only the lbauthz container mounts them.
	mode := int32(0o444)
	if sc := pod.Spec.SecurityContext; sc != nil && sc.FSGroup != nil {
		mode = 0o440
	}
	p.volumes = append(p.volumes,
		corev1.Volume{Name: configVolume, VolumeSource: corev1.VolumeSource{
			ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: configMap}},
		}},
		corev1.Volume{Name: secretVolume, VolumeSource: corev1.VolumeSource{
			Secret: &corev1.SecretVolumeSource{SecretName: secret, DefaultMode: &mode},
		}},
	)
	p.sidecar = in.sidecar(res)

	if p.frontDoor == FrontDoorNginx {
		if err := in.planNginx(pod, p, used); err != nil {
			return nil, err
		}
	}
	status, _ := json.Marshal(struct {
		Image     string `json:"image"`
		FrontDoor string `json:"frontDoor"`
	}{o.Image, p.frontDoor})
	p.annotations[AnnotationStatus] = string(status)
	return p, nil
}

func (in *Injector) sidecar(res corev1.ResourceRequirements) corev1.Container {
	o := in.opts
	always := corev1.ContainerRestartPolicyAlways
	// GOMEMLIMIT at 90% of the limit: the collector works harder before the
	// kernel's OOM killer would step in, with room for what is not heap.
	memLimit := res.Limits[corev1.ResourceMemory]
	goMemLimit := memLimit.Value() * 9 / 10
	probe := func(path string, period, failures int32) *corev1.Probe {
		return &corev1.Probe{
			ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
				Path: path, Port: intOrName(HTTPPortName),
			}},
			PeriodSeconds: period, FailureThreshold: failures, TimeoutSeconds: 1,
		}
	}
	startup := probe("/healthz", 1, 30)
	return corev1.Container{
		Name:  ContainerName,
		Image: o.Image,
		Args:  []string{"serve", "--config", ConfigDir + "/config.yaml"},
		// A native sidecar: started before the app's containers, running
		// beside them, stopped after them.
		RestartPolicy: &always,
		Env: []corev1.EnvVar{
			{Name: "GOMEMLIMIT", Value: strconv.FormatInt(goMemLimit, 10)},
		},
		Ports: []corev1.ContainerPort{
			{Name: GRPCPortName, ContainerPort: o.GRPCPort, Protocol: corev1.ProtocolTCP},
			{Name: HTTPPortName, ContainerPort: o.HTTPPort, Protocol: corev1.ProtocolTCP},
		},
		// The app's containers start once lbauthz serves (startup probe);
		// the pod is ready only while lbauthz is (readiness probe).
		StartupProbe:   startup,
		ReadinessProbe: probe("/readyz", 5, 2),
		LivenessProbe:  probe("/healthz", 10, 3),
		Resources:      res,
		VolumeMounts: []corev1.VolumeMount{
			{Name: configVolume, MountPath: ConfigDir, ReadOnly: true},
			{Name: secretVolume, MountPath: SecretDir, ReadOnly: true},
		},
		SecurityContext:          restrictedSecurityContext(),
		TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
	}
}

// restrictedSecurityContext meets the "restricted" Pod Security Standard on
// its own, whatever the pod's securityContext says.
func restrictedSecurityContext() *corev1.SecurityContext {
	yes, no, uid := true, false, int64(runAsUser)
	return &corev1.SecurityContext{
		RunAsNonRoot:             &yes,
		RunAsUser:                &uid,
		RunAsGroup:               &uid,
		ReadOnlyRootFilesystem:   &yes,
		AllowPrivilegeEscalation: &no,
		Privileged:               &no,
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
}

// resources applies the resource annotations to the defaults.
func (in *Injector) resources(ann map[string]string) (corev1.ResourceRequirements, error) {
	o := in.opts
	r := corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: o.CPURequest, corev1.ResourceMemory: o.MemoryRequest},
		Limits:   corev1.ResourceList{corev1.ResourceCPU: o.CPULimit, corev1.ResourceMemory: o.MemoryLimit},
	}
	for _, a := range []struct {
		name string
		list corev1.ResourceList
		res  corev1.ResourceName
	}{
		{AnnotationCPURequest, r.Requests, corev1.ResourceCPU},
		{AnnotationCPULimit, r.Limits, corev1.ResourceCPU},
		{AnnotationMemoryRequest, r.Requests, corev1.ResourceMemory},
		{AnnotationMemoryLimit, r.Limits, corev1.ResourceMemory},
	} {
		v, ok := ann[a.name]
		if !ok {
			continue
		}
		q, err := resource.ParseQuantity(v)
		if err != nil || q.Sign() <= 0 {
			return r, refuse(a.name, "%q is not a positive quantity (like 250m or 128Mi)", v)
		}
		a.list[a.res] = q
	}
	for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		req, lim := r.Requests[res], r.Limits[res]
		if req.Cmp(lim) > 0 {
			names := map[corev1.ResourceName]string{corev1.ResourceCPU: AnnotationCPURequest, corev1.ResourceMemory: AnnotationMemoryRequest}
			return r, refuse(names[res], "the %s request %s is above the limit %s", res, req.String(), lim.String())
		}
	}
	if m := r.Limits[corev1.ResourceMemory]; m.Value() < 16<<20 {
		return r, refuse(AnnotationMemoryLimit, "%s is too little memory for lbauthz (16Mi at least)", m.String())
	}
	return r, nil
}

func objectNameAnnotation(ann map[string]string, name, def string) (string, error) {
	v, ok := ann[name]
	if !ok {
		return def, nil
	}
	if err := checkObjectName(v); err != nil {
		return "", refuse(name, "%q is not a valid object name: %v", v, err)
	}
	return v, nil
}

func checkObjectName(n string) error {
	if errs := validation.IsDNS1123Subdomain(n); len(errs) > 0 {
		return fmt.Errorf("%s", errs[0])
	}
	return nil
}

// portsInUse maps each TCP port a container of the pod declares to the
// container's name.
func portsInUse(pod *corev1.Pod) map[int32]string {
	used := map[int32]string{}
	for _, cs := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for _, c := range cs {
			for _, p := range c.Ports {
				if p.Protocol == "" || p.Protocol == corev1.ProtocolTCP {
					used[p.ContainerPort] = c.Name
				}
			}
		}
	}
	return used
}
