package azureprovision

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/costmanagement/armcostmanagement/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/storage/armstorage"

	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/accounts"
	"github.com/truecost/truecost/domain/connectors"
)

// armAudience is the audience of Resource Manager tokens.
const armAudience = "https://management.azure.com"

// API versions this package sends itself. The Cost Management SDK speaks
// 2022-10-01, which writes exports without a manifest; from 2023-07-01-preview
// on, a partitioned export writes a manifest.json per run, which
// adapters/azurebilling uses to pick each month's newest run.
const (
	exportsAPIVersion = "2024-08-01"
	rolesAPIVersion   = "2022-04-01"
)

// session is one provisioning or deprovisioning pass over a request, with
// the clients built on first use and the outcome of the steps it ran.
type session struct {
	p    *Provisioner
	req  accounts.Request
	sub  string
	n    names
	done map[string]accounts.ResourceState

	cred      azcore.TokenCredential
	providers *armresources.ProvidersClient
	groups    *armresources.ResourceGroupsClient
	storage   *armstorage.AccountsClient
	exports   *armcostmanagement.ExportsClient
	raw       *arm.Client
}

func (p *Provisioner) session(req accounts.Request) *session {
	return &session{p: p, req: req, sub: strings.ToLower(req.Account.ProviderAccountID), n: namesOf(req.Infra.ID),
		done: make(map[string]accounts.ResourceState)}
}

// stateOf is what a step did: in this pass, or in an earlier attempt
// recorded in the ledger.
func (c *session) stateOf(step string) accounts.ResourceState {
	if s, ok := c.done[step]; ok {
		return s
	}
	if r, ok := c.req.Infra.Resource(step); ok {
		return r.State
	}
	return ""
}

// record notes a step's outcome for the steps after it.
func (c *session) record(step string, r accounts.Resource, err error) (accounts.Resource, error) {
	if err == nil {
		c.done[step] = r.State
	}
	return r, err
}

// connect builds the credential and clients once.
func (c *session) connect() error {
	if c.raw != nil {
		return nil
	}
	if c.sub == "" {
		return domain.Errorf(domain.Invalid, "account %s has no subscription ID", c.req.Account.Name)
	}
	cred, err := c.p.credential(c.req.Credentials)
	if err != nil {
		return err
	}
	opts := c.p.armOptions("")
	if c.providers, err = armresources.NewProvidersClient(c.sub, cred, opts); err != nil {
		return domain.WrapError(domain.Internal, err, "Azure Resource Manager client")
	}
	if c.groups, err = armresources.NewResourceGroupsClient(c.sub, cred, opts); err != nil {
		return domain.WrapError(domain.Internal, err, "Azure Resource Manager client")
	}
	if c.storage, err = armstorage.NewAccountsClient(c.sub, cred, opts); err != nil {
		return domain.WrapError(domain.Internal, err, "Azure Resource Manager client")
	}
	if c.exports, err = armcostmanagement.NewExportsClient(cred, c.p.armOptions(exportsAPIVersion)); err != nil {
		return domain.WrapError(domain.Internal, err, "Azure Resource Manager client")
	}
	raw, err := arm.NewClient("azureprovision", "v1.0.0", cred, opts)
	if err != nil {
		return domain.WrapError(domain.Internal, err, "Azure Resource Manager client")
	}
	c.cred, c.raw = cred, raw
	return nil
}

// credential is the configured override or the account's service
// principal.
func (p *Provisioner) credential(creds connectors.Secret) (azcore.TokenCredential, error) {
	if p.cfg.Credential != nil {
		return p.cfg.Credential, nil
	}
	tenant, client, secret := creds["tenant_id"], creds["client_id"], creds["client_secret"]
	if tenant == "" || client == "" || secret == "" {
		return nil, domain.Errorf(domain.Invalid, "provisioning Azure billing needs the account's service principal: its tenant ID, client ID and client secret")
	}
	opts := &azidentity.ClientSecretCredentialOptions{ClientOptions: p.clientOptions()}
	// A custom sign-in host is not in Microsoft's list of known hosts.
	opts.DisableInstanceDiscovery = p.cfg.AuthorityHost != ""
	cred, err := azidentity.NewClientSecretCredential(tenant, client, secret, opts)
	if err != nil {
		return nil, domain.WrapError(domain.Invalid, err, "the service principal is not valid: check the tenant ID and client ID")
	}
	return cred, nil
}

func (p *Provisioner) clientOptions() policy.ClientOptions {
	o := policy.ClientOptions{Cloud: p.cloud()}
	if p.cfg.HTTPClient != nil {
		o.Transport = p.cfg.HTTPClient
	}
	return o
}

// armOptions are the Resource Manager client options. Automatic resource
// provider registration is off: registering the export provider is a
// step the user chooses, and registering others silently would leave no
// trace in the ledger.
func (p *Provisioner) armOptions(apiVersion string) *arm.ClientOptions {
	o := &arm.ClientOptions{ClientOptions: p.clientOptions(), DisableRPRegistration: true}
	o.APIVersion = apiVersion
	return o
}

func (p *Provisioner) cloud() cloud.Configuration {
	c := cloud.Configuration{
		ActiveDirectoryAuthorityHost: cloud.AzurePublic.ActiveDirectoryAuthorityHost,
		Services:                     make(map[cloud.ServiceName]cloud.ServiceConfiguration),
	}
	for k, v := range cloud.AzurePublic.Services {
		c.Services[k] = v
	}
	if p.cfg.ARMEndpoint != "" {
		c.Services[cloud.ResourceManager] = cloud.ServiceConfiguration{Endpoint: strings.TrimRight(p.cfg.ARMEndpoint, "/"), Audience: armAudience}
	}
	if p.cfg.AuthorityHost != "" {
		c.ActiveDirectoryAuthorityHost = p.cfg.AuthorityHost
	}
	return c
}

// send makes a Resource Manager request the SDK clients do not cover. It
// returns the response when its status is one of ok, otherwise an
// *azcore.ResponseError.
func (c *session) send(ctx context.Context, method, path, apiVersion string, body any, ok ...int) (*http.Response, error) {
	req, err := runtime.NewRequest(ctx, method, runtime.JoinPaths(c.raw.Endpoint(), path))
	if err != nil {
		return nil, err
	}
	q := req.Raw().URL.Query()
	q.Set("api-version", apiVersion)
	req.Raw().URL.RawQuery = q.Encode()
	req.Raw().Header.Set("Accept", "application/json")
	if body != nil {
		if err := runtime.MarshalAsJSON(req, body); err != nil {
			return nil, err
		}
	}
	resp, err := c.raw.Pipeline().Do(req)
	if err != nil {
		return nil, err
	}
	if !runtime.HasStatusCode(resp, ok...) {
		return nil, runtime.NewResponseError(resp)
	}
	return resp, nil
}

// principalID reads the object ID of the signed-in principal from its
// Resource Manager token; "" when the token does not carry one.
func (c *session) principalID(ctx context.Context) (string, error) {
	tok, err := c.cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{armAudience + "/.default"}})
	if err != nil {
		return "", err
	}
	parts := strings.Split(tok.Token, ".")
	if len(parts) != 3 {
		return "", nil
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return "", nil
	}
	var claims struct {
		OID string `json:"oid"`
	}
	if json.Unmarshal(payload, &claims) != nil {
		return "", nil
	}
	return claims.OID, nil
}

// statusOf is the HTTP status of an Azure error answer, 0 for other
// errors.
func statusOf(err error) int {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode
	}
	return 0
}

// codeOf is the error code of an Azure error answer.
func codeOf(err error) string {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re.ErrorCode
	}
	return ""
}

// cloudError turns a failed Azure call about what ("storage account X")
// into a domain error carrying Azure's own message.
func cloudError(err error, what string) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var de *domain.Error
	if errors.As(err, &de) {
		return err
	}
	var authErr *azidentity.AuthenticationFailedError
	if errors.As(err, &authErr) {
		return domain.WrapError(domain.Unauthorized, err, "the service principal could not sign in to Microsoft Entra ID%s: check the tenant ID, client ID and client secret",
			signInMessage(authErr))
	}
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		return domain.WrapError(domain.Unavailable, err, "%s: Azure could not be reached", what)
	}
	msg := azureMessage(re)
	switch {
	case re.StatusCode == http.StatusForbidden:
		return domain.WrapError(domain.Forbidden, err, "access denied to %s: %s", what, msg)
	case re.StatusCode == http.StatusUnauthorized:
		return domain.WrapError(domain.Unauthorized, err, "Azure refused the credentials for %s: %s", what, msg)
	case re.StatusCode == http.StatusNotFound:
		return domain.WrapError(domain.NotFound, err, "%s not found: %s", what, msg)
	case re.ErrorCode == "MissingSubscriptionRegistration":
		return domain.WrapError(domain.Invalid, err, "%s: %s (register the resource provider it names: Subscription → Resource providers → Register)", what, msg)
	case re.StatusCode == http.StatusConflict:
		return domain.WrapError(domain.Conflict, err, "%s: %s", what, msg)
	case re.StatusCode == http.StatusTooManyRequests || re.StatusCode >= 500:
		return domain.WrapError(domain.Unavailable, err, "%s: Azure is busy or failing (%d): %s", what, re.StatusCode, msg)
	}
	return domain.WrapError(domain.Invalid, err, "%s: %s", what, msg)
}

// azureMessage is the message of a Resource Manager error body
// ({"error":{"code","message"}}), or the error code.
func azureMessage(re *azcore.ResponseError) string {
	if re.RawResponse != nil {
		if body, err := runtime.Payload(re.RawResponse); err == nil && len(bytes.TrimSpace(body)) > 0 && body[0] == '{' {
			var e struct {
				Error struct {
					Code    string `json:"code"`
					Message string `json:"message"`
				} `json:"error"`
			}
			if json.Unmarshal(body, &e) == nil && e.Error.Message != "" {
				return e.Error.Message + " (" + firstOf(e.Error.Code, re.ErrorCode) + ")"
			}
		}
	}
	if re.ErrorCode != "" {
		return re.ErrorCode
	}
	return http.StatusText(re.StatusCode)
}

// signInMessage is the first line of Entra ID's error description, as
// " (AADSTS…: …)".
func signInMessage(e *azidentity.AuthenticationFailedError) string {
	if e.RawResponse == nil {
		return ""
	}
	body, err := runtime.Payload(e.RawResponse)
	if err != nil {
		return ""
	}
	var r struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if json.Unmarshal(body, &r) != nil {
		return ""
	}
	d, _, _ := strings.Cut(firstOf(r.Description, r.Error), "\n")
	d = strings.TrimSpace(strings.TrimRight(d, "\r"))
	if d == "" {
		return ""
	}
	return " (" + d + ")"
}

func firstOf(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
