package inject

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"

	"go.uber.org/zap"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Paths of the webhook. The MutatingWebhookConfiguration sends the pods of
// labelled namespaces to PathNamespace and the pods that opt in themselves,
// from other namespaces, to PathPod: the API server does not tell a webhook
// the namespace's labels.
const (
	PathNamespace = "/inject"
	PathPod       = "/inject/pod"
)

// MaxReviewBytes bounds an AdmissionReview's body. The API server's own
// limit on an object is about 3 MiB; a review carries the object (and, on
// update, the old one).
const MaxReviewBytes = 8 << 20

// Handler serves the admission webhook: AdmissionReview v1 POSTed at
// PathNamespace and PathPod, and GET /healthz and /readyz for probes.
//
// A review it can read gets a 200 answer: allowed with or without a JSON
// patch, or refused with a message naming the annotation to fix. A request
// that is not a readable AdmissionReview v1 gets 400 with the reason as
// text (the API server then applies the failurePolicy).
type Handler struct {
	injector *Injector
	log      *zap.Logger
	mux      *http.ServeMux
}

// NewHandler returns the webhook's handler. log gets one line per decision
// (namespace, pod name, outcome), never the pod's spec.
func NewHandler(in *Injector, log *zap.Logger) *Handler {
	h := &Handler{injector: in, log: log, mux: http.NewServeMux()}
	h.mux.Handle("POST "+PathNamespace, h.review(NamespaceOptedIn))
	h.mux.Handle("POST "+PathPod, h.review(PodOptedIn))
	ok := func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") }
	h.mux.HandleFunc("GET /healthz", ok)
	h.mux.HandleFunc("GET /readyz", ok)
	return h
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// badRequest is a review that cannot be answered: the reason goes back as
// the body of a 400.
type badRequest struct{ reason string }

func (b *badRequest) Error() string { return b.reason }

func bad(format string, args ...any) error { return &badRequest{fmt.Sprintf(format, args...)} }

func (h *Handler) review(scope Scope) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		review, err := readReview(w, r)
		if err == nil {
			review.Response, err = h.respond(review.Request, scope)
		}
		if err != nil {
			status := http.StatusBadRequest
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				status = http.StatusRequestEntityTooLarge
				err = bad("the AdmissionReview is larger than %d bytes", MaxReviewBytes)
			}
			h.log.Warn("admission review not answered", zap.Int("status", status), zap.String("reason", err.Error()))
			http.Error(w, err.Error(), status)
			return
		}
		review.Request = nil
		body, err := json.Marshal(review)
		if err != nil {
			h.log.Error("encoding the admission response", zap.Error(err))
			http.Error(w, "encoding the answer failed", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
}

// readReview decodes the body as an AdmissionReview v1 with a request.
func readReview(w http.ResponseWriter, r *http.Request) (*admissionv1.AdmissionReview, error) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			return nil, bad("content type %q: want application/json", ct)
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxReviewBytes))
	if err != nil {
		return nil, err
	}
	return DecodeReview(body)
}

// DecodeReview decodes an AdmissionReview v1 that carries a request with a
// uid. Unknown fields are accepted (a newer API server may send more); a
// wrong apiVersion or kind, a missing request or uid, or bad JSON is an
// error that says which.
func DecodeReview(body []byte) (*admissionv1.AdmissionReview, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, bad("empty body: want an AdmissionReview")
	}
	var review admissionv1.AdmissionReview
	if err := json.Unmarshal(body, &review); err != nil {
		return nil, bad("not an AdmissionReview: %v", jsonError(err))
	}
	if gvk := review.GroupVersionKind(); gvk != admissionv1.SchemeGroupVersion.WithKind("AdmissionReview") {
		return nil, bad("apiVersion %q kind %q: want admission.k8s.io/v1 AdmissionReview", review.APIVersion, review.Kind)
	}
	if review.Request == nil {
		return nil, bad("the AdmissionReview has no request")
	}
	if review.Request.UID == "" {
		return nil, bad("the AdmissionReview's request has no uid")
	}
	return &review, nil
}

// jsonError keeps the position and type of a JSON error, not the input.
func jsonError(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("invalid JSON at byte %d", syn.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("field %q: %s where %s was expected", typ.Field, typ.Value, typ.Type)
	}
	return "invalid JSON"
}

var podResource = metav1.GroupVersionResource{Version: "v1", Resource: "pods"}

func (h *Handler) respond(req *admissionv1.AdmissionRequest, scope Scope) (*admissionv1.AdmissionResponse, error) {
	resp := &admissionv1.AdmissionResponse{UID: req.UID, Allowed: true}
	if req.Resource != podResource || req.SubResource != "" || req.Operation != admissionv1.Create {
		// Only a new pod can get a container; the webhook configuration
		// sends nothing else, so say so if it does.
		resp.Warnings = []string{fmt.Sprintf("lbauthz injector: %s %s/%s left unchanged (it only injects pods on CREATE)",
			req.Operation, req.Resource.Resource, req.SubResource)}
		return resp, nil
	}
	if len(req.Object.Raw) == 0 {
		return nil, bad("the request has no object")
	}
	var pod corev1.Pod
	if err := json.Unmarshal(req.Object.Raw, &pod); err != nil {
		return nil, bad("request.object is not a Pod: %v", jsonError(err))
	}
	name := pod.Name
	if name == "" {
		name = pod.GenerateName + "*"
	}
	fields := []zap.Field{zap.String("namespace", req.Namespace), zap.String("pod", name), zap.String("uid", string(req.UID))}

	out, err := h.injector.Mutate(&pod, scope)
	var refusal *Refusal
	switch {
	case errors.As(err, &refusal):
		h.log.Info("pod refused", append(fields, zap.String("annotation", refusal.Annotation), zap.String("reason", refusal.Reason))...)
		resp.Allowed = false
		resp.Result = &metav1.Status{
			Status:  metav1.StatusFailure,
			Code:    http.StatusBadRequest,
			Reason:  metav1.StatusReasonBadRequest,
			Message: refusal.Error(),
		}
		return resp, nil
	case err != nil:
		return nil, err
	case len(out.Patch) == 0:
		h.log.Debug("pod unchanged", append(fields, zap.String("why", out.Skipped))...)
		return resp, nil
	}
	patch, err := json.Marshal(out.Patch)
	if err != nil {
		return nil, fmt.Errorf("encoding the patch: %w", err)
	}
	pt := admissionv1.PatchTypeJSONPatch
	resp.PatchType, resp.Patch = &pt, patch
	h.log.Info("pod injected", append(fields, zap.String("front_door", out.FrontDoor))...)
	return resp, nil
}
