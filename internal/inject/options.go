package inject

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/resource"
)

// The pod annotations (and, for Inject, labels) the injector reads.
const (
	// AnnotationInject opts a pod in ("true") or out ("false"). As a label it
	// also works in the webhook configuration's objectSelector.
	AnnotationInject = "lbauthz.io/inject"
	// AnnotationConfig names the ConfigMap holding config.yaml (default
	// "lbauthz").
	AnnotationConfig = "lbauthz.io/config"
	// AnnotationSecret names the Secret holding the files the config reads
	// (the Liveblocks secret key, the session key; default "lbauthz").
	AnnotationSecret = "lbauthz.io/secret"
	// AnnotationFrontDoor picks what sends the app's traffic through
	// lbauthz: "istio" (the mesh's Envoy calls lbauthz on 127.0.0.1) or
	// "nginx" (an nginx container in front of the app's port).
	AnnotationFrontDoor = "lbauthz.io/front-door"
	// AnnotationAppPort is the app's port that nginx sends to, when the pod
	// does not declare exactly one container port.
	AnnotationAppPort = "lbauthz.io/app-port"
	// AnnotationNginxConfig names the ConfigMap holding nginx.conf for the
	// nginx front door (default "lbauthz-nginx").
	AnnotationNginxConfig = "lbauthz.io/nginx-config"
	// Resource overrides of the lbauthz container (Kubernetes quantities).
	AnnotationCPURequest    = "lbauthz.io/cpu-request"
	AnnotationCPULimit      = "lbauthz.io/cpu-limit"
	AnnotationMemoryRequest = "lbauthz.io/memory-request"
	AnnotationMemoryLimit   = "lbauthz.io/memory-limit"

	// AnnotationNginxUpstream is written by the injector: the nginx
	// `server` line of the app, which a downward API volume hands to nginx.
	AnnotationNginxUpstream = "lbauthz.io/nginx-upstream"
	// AnnotationStatus is written by the injector: what it added.
	AnnotationStatus = "lbauthz.io/status"
)

// Names of what the injector adds to a pod.
const (
	ContainerName      = "lbauthz"
	NginxContainerName = "lbauthz-nginx"
	// NginxPortName is the nginx container's port: the app's Service
	// targets it instead of the app's own port.
	NginxPortName = "lbauthz-nginx"
	GRPCPortName  = "authz-grpc"
	HTTPPortName  = "authz-http"

	configVolume      = "lbauthz-config"
	secretVolume      = "lbauthz-secret"
	nginxConfigVolume = "lbauthz-nginx-config"
	nginxPodVolume    = "lbauthz-nginx-pod"
	nginxRunVolume    = "lbauthz-nginx-run"

	// ConfigDir holds config.yaml (the ConfigMap); SecretDir the Secret's
	// files, which config.yaml names (for example
	// /run/secrets/lbauthz/liveblocks-secret-key).
	ConfigDir = "/etc/lbauthz"
	SecretDir = "/run/secrets/lbauthz"
	// NginxConfigDir holds nginx.conf (its ConfigMap) and NginxPodDir the
	// upstream.conf that nginx.conf includes (from AnnotationNginxUpstream).
	NginxConfigDir = "/etc/lbauthz-nginx"
	NginxPodDir    = "/etc/lbauthz-nginx-pod"
	nginxRunDir    = "/var/run/lbauthz-nginx"

	// The user every added container runs as (the image's own uid).
	runAsUser = 65532
)

// Front doors.
const (
	FrontDoorIstio = "istio"
	FrontDoorNginx = "nginx"
)

// Options say what the injector adds. The zero value is not usable: start
// from DefaultOptions.
type Options struct {
	// Image is the lbauthz image of the sidecar.
	Image string
	// NginxImage is the image of the nginx front door. It must run nginx
	// as a non-root user (nginx in PATH, ngx_http_auth_request_module).
	NginxImage string
	// ConfigMap and Secret are the defaults of AnnotationConfig and
	// AnnotationSecret; NginxConfigMap that of AnnotationNginxConfig.
	ConfigMap, Secret, NginxConfigMap string
	// FrontDoor is the default of AnnotationFrontDoor.
	FrontDoor string
	// GRPCPort and HTTPPort are the ports lbauthz's config listens on
	// (listen.grpc and listen.http); the probes use HTTPPort.
	GRPCPort, HTTPPort int32
	// NginxPort is the port nginx.conf listens on.
	NginxPort int32
	// Requests and limits of the lbauthz container, before annotations.
	CPURequest, CPULimit, MemoryRequest, MemoryLimit resource.Quantity
}

// DefaultOptions returns the options of the shipped chart and config:
// image tag from version, ports 9191/8181 (lbauthz) and 8080 (nginx).
func DefaultOptions(version string) Options {
	tag := version
	if tag == "" || tag == "dev" {
		tag = "latest"
	}
	return Options{
		Image:          "ghcr.io/lbauthz/lbauthz:" + tag,
		NginxImage:     "docker.io/nginxinc/nginx-unprivileged:1.29-alpine",
		ConfigMap:      "lbauthz",
		Secret:         "lbauthz",
		NginxConfigMap: "lbauthz-nginx",
		FrontDoor:      FrontDoorIstio,
		GRPCPort:       9191,
		HTTPPort:       8181,
		NginxPort:      8080,
		CPURequest:     resource.MustParse("50m"),
		CPULimit:       resource.MustParse("1"),
		MemoryRequest:  resource.MustParse("64Mi"),
		MemoryLimit:    resource.MustParse("256Mi"),
	}
}

// Validate reports the first option that cannot work.
func (o Options) Validate() error {
	switch {
	case o.Image == "":
		return fmt.Errorf("no lbauthz image")
	case o.NginxImage == "":
		return fmt.Errorf("no nginx image")
	case o.FrontDoor != FrontDoorIstio && o.FrontDoor != FrontDoorNginx:
		return fmt.Errorf("default front door %q: want %s or %s", o.FrontDoor, FrontDoorIstio, FrontDoorNginx)
	}
	for _, n := range []string{o.ConfigMap, o.Secret, o.NginxConfigMap} {
		if err := checkObjectName(n); err != nil {
			return fmt.Errorf("default name %q: %v", n, err)
		}
	}
	ports := map[int32]bool{}
	for _, p := range []int32{o.GRPCPort, o.HTTPPort, o.NginxPort} {
		if p < 1 || p > 65535 || ports[p] {
			return fmt.Errorf("ports %d, %d, %d: each must be distinct, 1 to 65535", o.GRPCPort, o.HTTPPort, o.NginxPort)
		}
		ports[p] = true
	}
	if o.CPURequest.Cmp(o.CPULimit) > 0 || o.MemoryRequest.Cmp(o.MemoryLimit) > 0 {
		return fmt.Errorf("a resource request is above its limit")
	}
	if o.MemoryLimit.Sign() <= 0 {
		return fmt.Errorf("the memory limit must be set (GOMEMLIMIT follows it)")
	}
	return nil
}
