package inject

import (
	"fmt"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// planNginx adds the nginx front door: an nginx container on NginxPort with
// deploy/nginx's config (from a ConfigMap) in front of the app's port. The
// app is unchanged; its Service's targetPort moves to the port named
// NginxPortName. The app's port reaches nginx as the `server` line of the
// pod annotation AnnotationNginxUpstream, which a downward API volume turns
// into the upstream.conf that nginx.conf includes, so one ConfigMap serves
// apps on any port.
func (in *Injector) planNginx(pod *corev1.Pod, p *plan, used map[int32]string) error {
	o := in.opts
	if c, ok := used[o.NginxPort]; ok {
		return refuse(AnnotationFrontDoor, "nginx listens on port %d, which container %q already uses", o.NginxPort, c)
	}
	appPort, err := appPort(pod)
	if err != nil {
		return err
	}
	if appPort == o.NginxPort || appPort == o.GRPCPort || appPort == o.HTTPPort {
		return refuse(AnnotationAppPort, "the app's port %d is one that lbauthz or nginx listens on", appPort)
	}
	nginxConfig, err := objectNameAnnotation(pod.Annotations, AnnotationNginxConfig, o.NginxConfigMap)
	if err != nil {
		return err
	}
	p.annotations[AnnotationNginxUpstream] = fmt.Sprintf("server 127.0.0.1:%d;", appPort)
	p.volumes = append(p.volumes,
		corev1.Volume{Name: nginxConfigVolume, VolumeSource: corev1.VolumeSource{
			ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: nginxConfig}},
		}},
		corev1.Volume{Name: nginxPodVolume, VolumeSource: corev1.VolumeSource{
			DownwardAPI: &corev1.DownwardAPIVolumeSource{Items: []corev1.DownwardAPIVolumeFile{{
				Path:     "upstream.conf",
				FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.annotations['" + AnnotationNginxUpstream + "']"},
			}}},
		}},
		corev1.Volume{Name: nginxRunVolume, VolumeSource: corev1.VolumeSource{
			EmptyDir: &corev1.EmptyDirVolumeSource{SizeLimit: ptr(resource.MustParse("64Mi"))},
		}},
	)
	tcp := &corev1.Probe{
		ProbeHandler:  corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intOrName(NginxPortName)}},
		PeriodSeconds: 5, FailureThreshold: 2, TimeoutSeconds: 1,
	}
	p.nginx = &corev1.Container{
		Name:  NginxContainerName,
		Image: o.NginxImage,
		// Every relative path of the shipped nginx.conf (pid, logs, temp
		// folders) lands under the -p prefix, a writable emptyDir.
		Command: []string{"nginx", "-p", nginxRunDir + "/", "-c", NginxConfigDir + "/nginx.conf", "-g", "daemon off;"},
		Ports: []corev1.ContainerPort{
			{Name: NginxPortName, ContainerPort: o.NginxPort, Protocol: corev1.ProtocolTCP},
		},
		ReadinessProbe: tcp,
		LivenessProbe:  &corev1.Probe{ProbeHandler: tcp.ProbeHandler, PeriodSeconds: 10, FailureThreshold: 3, TimeoutSeconds: 1},
		Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("16Mi")},
			Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("128Mi")},
		},
		VolumeMounts: []corev1.VolumeMount{
			{Name: nginxConfigVolume, MountPath: NginxConfigDir, ReadOnly: true},
			{Name: nginxPodVolume, MountPath: NginxPodDir, ReadOnly: true},
			{Name: nginxRunVolume, MountPath: nginxRunDir},
		},
		SecurityContext:          restrictedSecurityContext(),
		TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
	}
	return nil
}

// appPort is the port nginx sends the app's traffic to: the annotation (a
// number, or the name of a container port), else the one TCP port the
// pod's containers declare.
func appPort(pod *corev1.Pod) (int32, error) {
	v, ok := pod.Annotations[AnnotationAppPort]
	if ok {
		if n, err := strconv.ParseInt(v, 10, 32); err == nil {
			if n < 1 || n > 65535 {
				return 0, refuse(AnnotationAppPort, "%q is not a port number (1 to 65535)", v)
			}
			return int32(n), nil
		}
		for _, c := range pod.Spec.Containers {
			for _, p := range c.Ports {
				if p.Name == v {
					return p.ContainerPort, nil
				}
			}
		}
		return 0, refuse(AnnotationAppPort, "%q is neither a port number nor the name of a container port", v)
	}
	var ports []int32
	for _, c := range pod.Spec.Containers {
		for _, p := range c.Ports {
			if p.Protocol == "" || p.Protocol == corev1.ProtocolTCP {
				ports = append(ports, p.ContainerPort)
			}
		}
	}
	if len(ports) != 1 {
		return 0, refuse(AnnotationAppPort, "the nginx front door needs the app's port: the containers declare %d TCP ports, so name it in this annotation", len(ports))
	}
	return ports[0], nil
}

func intOrName(name string) intstr.IntOrString { return intstr.FromString(name) }

func ptr[T any](v T) *T { return &v }
