package azurefake

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"
)

var storageNameRE = regexp.MustCompile(`^[a-z0-9]{3,24}$`)

// serveARM routes a signed Resource Manager request by its path.
func (s *Server) serveARM(w http.ResponseWriter, r *http.Request, segs []string, in map[string]any) {
	l := make([]string, len(segs))
	for i, v := range segs {
		l[i] = strings.ToLower(v)
	}
	n := len(l)
	if n < 4 || l[0] != "subscriptions" {
		armError(w, http.StatusNotFound, "InvalidResourceType", "The resource type could not be found.")
		return
	}
	sub := segs[1]
	at := func(i int, want string) bool { return i < n && l[i] == want }
	switch {
	case n == 4 && at(2, "providers"):
		s.provider(w, r, sub, segs[3])
	case n == 5 && at(2, "providers") && (at(4, "register") || at(4, "unregister")) && r.Method == http.MethodPost:
		s.registration(w, sub, segs[3], l[4] == "register")
	case n == 6 && at(2, "providers") && at(3, "microsoft.costmanagement") && at(4, "exports"):
		s.export(w, r, sub, segs[5], in)
	case n == 7 && at(2, "providers") && at(3, "microsoft.costmanagement") && at(4, "exports") && at(6, "run") && r.Method == http.MethodPost:
		s.runExport(w, sub, segs[5])
	case n == 4 && at(2, "operationresults"),
		n == 8 && at(2, "providers") && at(3, "microsoft.storage") && at(4, "locations") && at(6, "asyncoperations"):
		s.operation(w, r)
	case n == 4 && at(2, "resourcegroups"):
		s.group(w, r, sub, segs[3], in)
	case n == 8 && at(2, "resourcegroups") && at(4, "providers") && at(5, "microsoft.storage") && at(6, "storageaccounts"):
		s.storageAccount(w, r, sub, segs[3], segs[7], in)
	case n == 9 && at(2, "resourcegroups") && at(6, "storageaccounts") && at(8, "listkeys") && r.Method == http.MethodPost:
		s.listKeys(w, sub, segs[3], segs[7])
	case n == 12 && at(2, "resourcegroups") && at(6, "storageaccounts") && at(8, "providers") && at(9, "microsoft.authorization") && at(10, "roleassignments"):
		s.roleAssignment(w, r, sub, segs[3], segs[7], segs[11], in)
	default:
		armError(w, http.StatusNotFound, "InvalidResourceType", "The resource type could not be found in the namespace.")
	}
}

func (s *Server) providerBody(sub, ns, state string) map[string]any {
	return map[string]any{"id": "/subscriptions/" + sub + "/providers/" + ns, "namespace": ns, "registrationState": state,
		"registrationPolicy": "RegistrationRequired", "resourceTypes": []any{}}
}

func (s *Server) provider(w http.ResponseWriter, r *http.Request, sub, ns string) {
	if r.Method != http.MethodGet {
		armError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "The requested method is not allowed.")
		return
	}
	if s.fail(w, ProviderGet) {
		return
	}
	key := providerKey(sub, ns)
	state := s.providerState(key)
	if state == "Registering" || state == "Unregistering" {
		if s.providerPolls[key] > 0 {
			s.providerPolls[key]--
		} else {
			state = map[string]string{"Registering": "Registered", "Unregistering": "NotRegistered"}[state]
			s.providers[key] = state
		}
	}
	writeJSON(w, http.StatusOK, s.providerBody(sub, ns, state))
}

func (s *Server) registration(w http.ResponseWriter, sub, ns string, register bool) {
	op, state := ProviderUnregister, "Unregistering"
	if register {
		op, state = ProviderRegister, "Registering"
	}
	if s.fail(w, op) {
		return
	}
	key := providerKey(sub, ns)
	s.providers[key], s.providerPolls[key] = state, s.regPolls
	writeJSON(w, http.StatusOK, s.providerBody(sub, ns, state))
}

// startOperation records a long-running operation and answers 202 with
// its Location.
func (s *Server) startOperation(w http.ResponseWriter, path, apiVersion string, status int, result map[string]any) {
	s.opSeq++
	id := fmt.Sprintf("op%04d", s.opSeq)
	s.ops[strings.ToLower(strings.ReplaceAll(path, "{id}", id))] = &operation{pending: s.lroPolls, result: result, status: status}
	w.Header().Set("Location", s.URL+strings.ReplaceAll(path, "{id}", id)+"?api-version="+apiVersion)
	w.WriteHeader(http.StatusAccepted)
}

func (s *Server) operation(w http.ResponseWriter, r *http.Request) {
	if s.fail(w, OperationGet) {
		return
	}
	op := s.ops[strings.ToLower(r.URL.Path)]
	if op == nil {
		armError(w, http.StatusNotFound, "OperationNotFound", "The operation was not found.")
		return
	}
	if op.pending > 0 {
		op.pending--
		w.Header().Set("Location", s.URL+r.URL.RequestURI())
		w.WriteHeader(http.StatusAccepted)
		return
	}
	if op.result == nil {
		w.WriteHeader(op.status)
		return
	}
	writeJSON(w, op.status, op.result)
}

func groupID(sub, rg string) string { return "/subscriptions/" + sub + "/resourceGroups/" + rg }

func (s *Server) get(id string) *resource { return s.resources[strings.ToLower(id)] }

func (s *Server) put(id string, body map[string]any) {
	s.resources[strings.ToLower(id)] = &resource{id: id, body: body}
}

// removeUnder deletes a resource and everything whose ID starts with it.
func (s *Server) removeUnder(id string) {
	prefix := strings.ToLower(id)
	for k := range s.resources {
		if k == prefix || strings.HasPrefix(k, prefix+"/") {
			delete(s.resources, k)
		}
	}
}

func (s *Server) group(w http.ResponseWriter, r *http.Request, sub, rg string, in map[string]any) {
	id := groupID(sub, rg)
	notFound := func() {
		armError(w, http.StatusNotFound, "ResourceGroupNotFound", "Resource group '"+rg+"' could not be found.")
	}
	cur := s.get(id)
	switch r.Method {
	case http.MethodGet:
		if s.fail(w, GroupGet) {
			return
		}
		if cur == nil {
			notFound()
			return
		}
		writeJSON(w, http.StatusOK, cur.body)
	case http.MethodPut:
		if s.fail(w, GroupPut) {
			return
		}
		loc, _ := in["location"].(string)
		if loc == "" {
			armError(w, http.StatusBadRequest, "LocationRequired", "The location property is required for this definition.")
			return
		}
		status := http.StatusCreated
		if cur != nil {
			if !strings.EqualFold(cur.body["location"].(string), loc) {
				armError(w, http.StatusConflict, "InvalidResourceGroupLocation", "Invalid resource group location '"+loc+"'.")
				return
			}
			status, id = http.StatusOK, cur.id
		}
		body := map[string]any{"id": id, "name": rg, "type": "Microsoft.Resources/resourceGroups", "location": loc,
			"properties": map[string]any{"provisioningState": "Succeeded"}}
		if tags, ok := in["tags"]; ok {
			body["tags"] = tags
		}
		s.put(id, body)
		writeJSON(w, status, body)
	case http.MethodDelete:
		if s.fail(w, GroupDelete) {
			return
		}
		if cur == nil {
			notFound()
			return
		}
		prefix := strings.ToLower(cur.id) + "/"
		for k, res := range s.resources {
			if strings.HasPrefix(k, prefix) && res.body["type"] == "Microsoft.Storage/storageAccounts" {
				s.dropContainers(res.body["name"].(string))
			}
		}
		s.removeUnder(cur.id)
		s.startOperation(w, "/subscriptions/"+sub+"/operationresults/{id}", r.URL.Query().Get("api-version"), http.StatusOK, nil)
	default:
		armError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "The requested method is not allowed.")
	}
}

func (s *Server) dropContainers(account string) {
	for c := range s.containers {
		if strings.HasPrefix(c, account+"/") {
			delete(s.containers, c)
		}
	}
}

func storageID(sub, rg, name string) string {
	return groupID(sub, rg) + "/providers/Microsoft.Storage/storageAccounts/" + name
}

func (s *Server) storageAccount(w http.ResponseWriter, r *http.Request, sub, rg, name string, in map[string]any) {
	id := storageID(sub, rg, name)
	group := s.get(groupID(sub, rg))
	cur := s.get(id)
	missing := func() {
		if group == nil {
			armError(w, http.StatusNotFound, "ResourceGroupNotFound", "Resource group '"+rg+"' could not be found.")
			return
		}
		armError(w, http.StatusNotFound, "ResourceNotFound", "The Resource 'Microsoft.Storage/storageAccounts/"+name+"' under resource group '"+rg+"' was not found.")
	}
	switch r.Method {
	case http.MethodGet:
		if s.fail(w, StorageGet) {
			return
		}
		if cur == nil {
			missing()
			return
		}
		writeJSON(w, http.StatusOK, cur.body)
	case http.MethodPut:
		if s.fail(w, StoragePut) {
			return
		}
		if group == nil {
			missing()
			return
		}
		if !storageNameRE.MatchString(name) {
			armError(w, http.StatusBadRequest, "AccountNameInvalid", name+" is not a valid storage account name. Storage account name must be between 3 and 24 characters in length and use numbers and lower-case letters only.")
			return
		}
		loc, _ := in["location"].(string)
		kind, _ := in["kind"].(string)
		sku, _ := in["sku"].(map[string]any)
		if loc == "" || kind == "" || sku == nil || sku["name"] == nil {
			armError(w, http.StatusBadRequest, "InvalidRequestContent", "The request must give location, kind and sku.")
			return
		}
		props := map[string]any{"provisioningState": "Succeeded", "creationTime": time.Now().UTC().Format(time.RFC3339),
			"primaryEndpoints": map[string]any{"blob": "https://" + name + ".blob.core.windows.net/"}}
		if p, ok := in["properties"].(map[string]any); ok {
			for k, v := range p {
				props[k] = v
			}
		}
		body := map[string]any{"id": id, "name": name, "type": "Microsoft.Storage/storageAccounts", "location": loc, "kind": kind,
			"sku": sku, "properties": props}
		if tags, ok := in["tags"]; ok {
			body["tags"] = tags
		}
		if cur != nil {
			s.put(cur.id, body)
			writeJSON(w, http.StatusOK, body)
			return
		}
		s.put(id, body)
		s.startOperation(w, "/subscriptions/"+sub+"/providers/Microsoft.Storage/locations/"+loc+"/asyncoperations/{id}",
			r.URL.Query().Get("api-version"), http.StatusOK, body)
	case http.MethodDelete:
		if s.fail(w, StorageDelete) {
			return
		}
		if cur == nil {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		s.removeUnder(cur.id)
		s.dropContainers(name)
		w.WriteHeader(http.StatusOK)
	default:
		armError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "The requested method is not allowed.")
	}
}

func (s *Server) listKeys(w http.ResponseWriter, sub, rg, name string) {
	if s.fail(w, StorageListKeys) {
		return
	}
	if s.get(storageID(sub, rg, name)) == nil {
		armError(w, http.StatusNotFound, "ResourceNotFound", "The Resource 'Microsoft.Storage/storageAccounts/"+name+"' under resource group '"+rg+"' was not found.")
		return
	}
	now := time.Now().UTC().Format(time.RFC3339)
	writeJSON(w, http.StatusOK, map[string]any{"keys": []any{
		map[string]any{"keyName": "key1", "value": AccountKey, "permissions": "FULL", "creationTime": now},
		map[string]any{"keyName": "key2", "value": AccountKey, "permissions": "FULL", "creationTime": now},
	}})
}

func (s *Server) roleAssignment(w http.ResponseWriter, r *http.Request, sub, rg, account, name string, in map[string]any) {
	scope := storageID(sub, rg, account)
	id := scope + "/providers/Microsoft.Authorization/roleAssignments/" + name
	cur := s.get(id)
	switch r.Method {
	case http.MethodPut:
		if s.fail(w, RoleAssignmentPut) {
			return
		}
		if s.get(scope) == nil {
			armError(w, http.StatusBadRequest, "InvalidResourceNamespace", "The scope '"+scope+"' is not valid: the resource was not found.")
			return
		}
		p, _ := in["properties"].(map[string]any)
		role, _ := p["roleDefinitionId"].(string)
		principal, _ := p["principalId"].(string)
		if role == "" || principal == "" {
			armError(w, http.StatusBadRequest, "InvalidRoleAssignmentRequest", "The role definition ID and principal ID are required.")
			return
		}
		if cur != nil {
			cp := cur.body["properties"].(map[string]any)
			if !strings.EqualFold(cp["roleDefinitionId"].(string), role) || cp["principalId"] != principal {
				armError(w, http.StatusBadRequest, "RoleAssignmentUpdateNotPermitted", "Tenant ID, application ID, principal ID, and scope are not allowed to be updated.")
				return
			}
			writeJSON(w, http.StatusCreated, cur.body) // the same assignment again
			return
		}
		for _, other := range s.resources {
			op, ok := other.body["properties"].(map[string]any)
			if !ok || other.body["type"] != "Microsoft.Authorization/roleAssignments" {
				continue
			}
			if strings.EqualFold(op["scope"].(string), scope) && strings.EqualFold(op["roleDefinitionId"].(string), role) && op["principalId"] == principal {
				armError(w, http.StatusConflict, "RoleAssignmentExists", "The role assignment already exists.")
				return
			}
		}
		pt, _ := p["principalType"].(string)
		body := s.addRoleAssignment(scope, name, role, principal, pt)
		writeJSON(w, http.StatusCreated, body)
	case http.MethodGet:
		if cur == nil {
			armError(w, http.StatusNotFound, "RoleAssignmentNotFound", "The role assignment '"+name+"' is not found.")
			return
		}
		writeJSON(w, http.StatusOK, cur.body)
	case http.MethodDelete:
		if s.fail(w, RoleAssignmentDelete) {
			return
		}
		if cur == nil {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		s.removeUnder(cur.id)
		writeJSON(w, http.StatusOK, cur.body)
	default:
		armError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "The requested method is not allowed.")
	}
}

func exportID(sub, name string) string {
	return "/subscriptions/" + sub + "/providers/Microsoft.CostManagement/exports/" + name
}

func (s *Server) export(w http.ResponseWriter, r *http.Request, sub, name string, in map[string]any) {
	id := exportID(sub, name)
	cur := s.get(id)
	notFound := func() { armError(w, http.StatusNotFound, "NotFound", "Export '"+name+"' was not found.") }
	switch r.Method {
	case http.MethodGet:
		if s.fail(w, ExportGet) {
			return
		}
		if cur == nil {
			notFound()
			return
		}
		writeJSON(w, http.StatusOK, cur.body)
	case http.MethodPut:
		if s.fail(w, ExportPut) {
			return
		}
		if s.providerState(providerKey(sub, "Microsoft.CostManagementExports")) != "Registered" {
			armError(w, http.StatusConflict, "MissingSubscriptionRegistration", "The subscription is not registered to use namespace 'Microsoft.CostManagementExports'.")
			return
		}
		p, _ := in["properties"].(map[string]any)
		def, _ := p["definition"].(map[string]any)
		delivery, _ := p["deliveryInfo"].(map[string]any)
		dest, _ := delivery["destination"].(map[string]any)
		if def == nil || dest == nil || dest["container"] == nil {
			armError(w, http.StatusBadRequest, "BadRequest", "The export must have a definition and a delivery destination with a container.")
			return
		}
		if rid, _ := dest["resourceId"].(string); rid == "" || s.get(rid) == nil {
			armError(w, http.StatusBadRequest, "BadRequest", "Invalid storage account resource ID '"+fmt.Sprint(dest["resourceId"])+"'.")
			return
		}
		status := http.StatusCreated
		if cur != nil {
			status, id = http.StatusOK, cur.id
		}
		s.seq++
		body := map[string]any{"id": id, "name": name, "type": "Microsoft.CostManagement/exports", "eTag": fmt.Sprintf(`"%d"`, s.seq), "properties": p}
		s.put(id, body)
		writeJSON(w, status, body)
	case http.MethodDelete:
		if s.fail(w, ExportDelete) {
			return
		}
		if cur == nil {
			notFound()
			return
		}
		s.removeUnder(cur.id)
		w.WriteHeader(http.StatusOK)
	default:
		armError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "The requested method is not allowed.")
	}
}

func (s *Server) runExport(w http.ResponseWriter, sub, name string) {
	if s.fail(w, ExportRun) {
		return
	}
	if s.get(exportID(sub, name)) == nil {
		armError(w, http.StatusNotFound, "NotFound", "Export '"+name+"' was not found.")
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (s *Server) addRoleAssignment(scope, name, role, principal, principalType string) map[string]any {
	id := scope + "/providers/Microsoft.Authorization/roleAssignments/" + name
	props := map[string]any{"roleDefinitionId": role, "principalId": principal, "scope": scope}
	if principalType != "" {
		props["principalType"] = principalType
	}
	body := map[string]any{"id": id, "name": name, "type": "Microsoft.Authorization/roleAssignments", "properties": props}
	s.put(id, body)
	return body
}
