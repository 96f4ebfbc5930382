package inject_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.uber.org/zap"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/lbauthz/lbauthz/internal/inject"
)

// FuzzAdmissionReview sends arbitrary bodies through the whole handler: the
// answer is a 200 AdmissionReview echoing the request's uid, or a 400 with a
// reason, never a panic or another status.
func FuzzAdmissionReview(f *testing.F) {
	in, err := inject.New(inject.DefaultOptions("v1.2.3"))
	if err != nil {
		f.Fatal(err)
	}
	h := inject.NewHandler(in, zap.NewNop())
	seeds := []*corev1.Pod{
		appPod(),
		appPod(annotate(inject.AnnotationFrontDoor, "nginx")),
		appPod(annotate(inject.AnnotationFrontDoor, "nginx", inject.AnnotationAppPort, "http", inject.AnnotationMemoryLimit, "1Gi")),
		appPod(annotate(inject.AnnotationInject, "false")),
		appPod(annotate(inject.AnnotationCPULimit, "x")),
	}
	for _, p := range seeds {
		f.Add(reviewOf(f, p))
	}
	f.Add([]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","resource":{"version":"v1","resource":"pods"},"operation":"CREATE","object":{"metadata":{"annotations":null},"spec":{"initContainers":[],"volumes":null}}}}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, path := range []string{inject.PathNamespace, inject.PathPod} {
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			h.ServeHTTP(rec, req)
			switch rec.Code {
			case http.StatusBadRequest:
				if rec.Body.Len() == 0 {
					t.Fatal("400 without a reason")
				}
			case http.StatusOK:
				var review admissionv1.AdmissionReview
				if err := json.Unmarshal(rec.Body.Bytes(), &review); err != nil || review.Response == nil {
					t.Fatalf("200 that is not an AdmissionReview: %s", rec.Body.Bytes())
				}
				sent, err := inject.DecodeReview(body)
				if err != nil || sent.Request.UID != review.Response.UID {
					t.Fatalf("answer uid %q does not echo the request", review.Response.UID)
				}
				if !review.Response.Allowed && (review.Response.Result == nil || review.Response.Result.Message == "") {
					t.Fatal("a refusal without a message")
				}
			default:
				t.Fatalf("status %d: %s", rec.Code, rec.Body.Bytes())
			}
		}
	})
}
