package viewkit_test

import (
	"errors"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/a-h/templ"

	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/tenancy"
	"github.com/truecost/truecost/views/viewkit"
)

func TestAnswerSaveGoesOnOrShowsTheRefusedForm(t *testing.T) {
	t.Parallel()
	invalid := domain.Errorf(domain.Invalid, "name: required")
	conflict := domain.Errorf(domain.Conflict, "name: taken")
	forbidden := domain.Errorf(domain.Forbidden, "admins only")
	errRefill := errors.New("listing organizations failed")
	for _, tc := range []struct {
		name         string
		saveErr      error // the domain's outcome
		refillErr    error
		wantErr      error // returned for the error page
		wantStatus   int
		wantLocation string
		wantForm     string // the form shown again
	}{
		{name: "saved", wantStatus: http.StatusSeeOther, wantLocation: "/things/1?saved=1"},
		{name: "invalid", saveErr: invalid, wantStatus: http.StatusUnprocessableEntity, wantForm: "<form>name: required</form>"},
		{name: "conflict", saveErr: conflict, wantStatus: http.StatusUnprocessableEntity, wantForm: "<form>name: taken</form>"},
		{name: "forbidden", saveErr: forbidden, wantErr: forbidden, wantStatus: http.StatusOK},
		{name: "refill fails", saveErr: invalid, refillErr: errRefill, wantErr: errRefill, wantStatus: http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w, r := httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/things/1/edit", nil)
			var refused error
			refill := func(err error) (templ.Component, error) {
				refused = err
				return templ.Raw("<form>" + domain.ErrorMessage(err) + "</form>"), tc.refillErr
			}
			if err := viewkit.AnswerSave(w, r, tc.saveErr, "/things/1?saved=1", refill); err != tc.wantErr {
				t.Errorf("error = %v, want %v", err, tc.wantErr)
			}
			if w.Code != tc.wantStatus {
				t.Errorf("status = %d, want %d", w.Code, tc.wantStatus)
			}
			if got := w.Header().Get("Location"); got != tc.wantLocation {
				t.Errorf("Location = %q, want %q", got, tc.wantLocation)
			}
			if got := w.Body.String(); tc.wantForm != "" && got != tc.wantForm {
				t.Errorf("body = %q, want the form %q", got, tc.wantForm)
			}
			if wantRefused := viewkit.FormError(tc.saveErr); (refused != nil) != wantRefused || (wantRefused && refused != tc.saveErr) {
				t.Errorf("refill got %v, want it called with the refusal only when the form shows it (%v)", refused, wantRefused)
			}
		})
	}
}

func TestPostedOrgIsTheCallersOwnWhenLeftEmpty(t *testing.T) {
	t.Parallel()
	p := tenancy.Principal{Org: tenancy.Organization{ID: "own"}}
	for posted, want := range map[string]string{"": "own", "  ": "own", " customer ": "customer"} {
		r := httptest.NewRequest(http.MethodPost, "/things", strings.NewReader(url.Values{"org": {posted}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if got := viewkit.PostedOrg(r, p); got != want {
			t.Errorf("PostedOrg with org=%q = %q, want %q", posted, got, want)
		}
	}
}

func TestPlaceRefusalShowsTheMessageAboveTheFormAndNextToItsField(t *testing.T) {
	t.Parallel()
	labels := viewkit.Labels(map[string]string{"role ARN": "role_arn"})
	msg, byField := viewkit.PlaceRefusal(domain.Errorf(domain.Invalid, "role ARN: must start with arn:aws:iam::"), labels)
	if want := "role ARN: must start with arn:aws:iam::"; msg != want {
		t.Errorf("message = %q, want %q", msg, want)
	}
	if want := map[string]string{"role_arn": "Must start with arn:aws:iam::"}; !maps.Equal(byField, want) {
		t.Errorf("by field = %v, want %v", byField, want)
	}
	if _, byField := viewkit.PlaceRefusal(domain.Errorf(domain.Conflict, "no subject at all"), labels); byField == nil || len(byField) != 0 {
		t.Errorf("by field = %#v, want an empty map", byField)
	}
}

func TestPlaceFieldPutsTheDetailUnderTheNamedField(t *testing.T) {
	labels := viewkit.Labels(map[string]string{"role ARN": "role_arn"})
	errs := map[string]string{}
	viewkit.PlaceField(errs, "role ARN: must start with arn:aws:iam::", labels)
	viewkit.PlaceField(errs, "bucket: unknown subject", labels)
	viewkit.PlaceField(errs, "no subject at all", labels)
	if want := map[string]string{"role_arn": "Must start with arn:aws:iam::"}; !maps.Equal(errs, want) {
		t.Errorf("errors = %v, want %v", errs, want)
	}
}

func TestFormErrorKeepsRefusalsInTheForm(t *testing.T) {
	for code, want := range map[domain.Code]bool{
		domain.Invalid: true, domain.Conflict: true, domain.Unavailable: true,
		domain.Forbidden: false, domain.NotFound: false, domain.Internal: false,
	} {
		if got := viewkit.FormError(domain.Errorf(code, "x")); got != want {
			t.Errorf("FormError(%s) = %v, want %v", code, got, want)
		}
	}
}

func TestKeptReturnsOnlyIdentifiers(t *testing.T) {
	got := viewkit.Kept(map[string]string{"role_arn": " arn:aws:iam::1:role/r ", "secret_access_key": "s3cr3t"}, map[string]bool{"role_arn": true})
	if want := map[string]string{"role_arn": "arn:aws:iam::1:role/r"}; !maps.Equal(got, want) {
		t.Errorf("kept = %v, want %v", got, want)
	}
}
