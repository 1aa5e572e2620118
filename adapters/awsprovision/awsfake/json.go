package awsfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"time"
)

// serveJSON answers the Data Exports, CUR and Cost Explorer operations.
func (f *Fake) serveJSON(w http.ResponseWriter, op string, body []byte) {
	fail := jsonProtocol.fail
	var in map[string]json.RawMessage
	if err := json.Unmarshal(body, &in); err != nil {
		fail(w, http.StatusBadRequest, "SerializationException", "the request body is not a JSON object")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var out any
	var ferr *failure
	switch op {
	case CreateExport, GetExport, ListExports, DeleteExport:
		out, ferr = f.exportOp(op, in)
	case PutReportDefinition, DeleteReportDefinition, DescribeReportDefinitions:
		out, ferr = f.reportOp(op, in)
	case UpdateCostAllocationTagsStatus, ListCostAllocationTags:
		if f.denyTags {
			ferr = &failure{http.StatusBadRequest, "AccessDeniedException",
				fmt.Sprintf("User: arn:aws:iam::%s:user/truecost is not authorized to perform: ce:%s because the account is a member of an organization", AccountID, op)}
			break
		}
		out, ferr = f.tagOp(op, in)
	default:
		ferr = &failure{http.StatusBadRequest, "UnknownOperationException", "unknown operation " + op}
	}
	if ferr != nil {
		fail(w, ferr.status, ferr.code, ferr.message)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(out)
}

func invalid(msg string) *failure {
	return &failure{http.StatusBadRequest, "ValidationException", msg}
}

func (f *Fake) exportOp(op string, in map[string]json.RawMessage) (any, *failure) {
	switch op {
	case CreateExport:
		var req struct {
			Name           string
			DataQuery      struct{ QueryStatement string }
			Destinations   json.RawMessage `json:"DestinationConfigurations"`
			RefreshCadence struct{ Frequency string }
		}
		if err := json.Unmarshal(in["Export"], &req); err != nil {
			return nil, invalid("Export: " + err.Error())
		}
		var dest struct {
			S3Destination struct {
				S3Bucket, S3Prefix, S3Region string
				S3OutputConfigurations       struct{ Compression, Format, OutputType, Overwrite string }
			}
		}
		_ = json.Unmarshal(req.Destinations, &dest)
		d := dest.S3Destination
		switch {
		case req.Name == "":
			return nil, invalid("Export.Name is required")
		case req.DataQuery.QueryStatement == "":
			return nil, invalid("Export.DataQuery.QueryStatement is required")
		case d.S3Bucket == "" || d.S3Prefix == "" || d.S3Region == "":
			return nil, invalid("Export.DestinationConfigurations.S3Destination needs S3Bucket, S3Prefix and S3Region")
		case d.S3OutputConfigurations.Format == "" || d.S3OutputConfigurations.Compression == "" ||
			d.S3OutputConfigurations.OutputType == "" || d.S3OutputConfigurations.Overwrite == "":
			return nil, invalid("S3OutputConfigurations needs Compression, Format, OutputType and Overwrite")
		case req.RefreshCadence.Frequency == "":
			return nil, invalid("Export.RefreshCadence.Frequency is required")
		}
		for _, e := range f.exports {
			if e.name == req.Name {
				return nil, invalid("An export named " + req.Name + " already exists")
			}
		}
		f.serial++
		arn := fmt.Sprintf("arn:aws:bcm-data-exports:us-east-1:%s:export/%s-00000000-0000-4000-8000-%012d", AccountID, req.Name, f.serial)
		f.exports[arn] = &export{arn: arn, name: req.Name, body: in["Export"], tags: in["ResourceTags"]}
		return map[string]string{"ExportArn": arn}, nil
	case ListExports:
		list := []map[string]any{}
		arns := make([]string, 0, len(f.exports))
		for arn := range f.exports {
			arns = append(arns, arn)
		}
		sort.Strings(arns)
		for _, arn := range arns {
			list = append(list, map[string]any{"ExportArn": arn, "ExportName": f.exports[arn].name,
				"ExportStatus": map[string]string{"StatusCode": "HEALTHY"}})
		}
		return map[string]any{"Exports": list}, nil
	}
	var arn string
	_ = json.Unmarshal(in["ExportArn"], &arn)
	e, ok := f.exports[arn]
	if !ok {
		return nil, &failure{http.StatusBadRequest, "ResourceNotFoundException", "No export found with ARN " + arn}
	}
	if op == DeleteExport {
		delete(f.exports, arn)
		return map[string]string{"ExportArn": arn}, nil
	}
	var body map[string]any
	_ = json.Unmarshal(e.body, &body)
	body["ExportArn"] = arn
	return map[string]any{"Export": body, "ExportStatus": map[string]string{"StatusCode": "HEALTHY"}}, nil
}

func (f *Fake) reportOp(op string, in map[string]json.RawMessage) (any, *failure) {
	switch op {
	case PutReportDefinition:
		var def struct {
			ReportName, TimeUnit, Format, Compression, S3Bucket, S3Prefix, S3Region string
		}
		if err := json.Unmarshal(in["ReportDefinition"], &def); err != nil {
			return nil, invalid("ReportDefinition: " + err.Error())
		}
		if def.ReportName == "" || def.TimeUnit == "" || def.Format == "" || def.Compression == "" ||
			def.S3Bucket == "" || def.S3Region == "" {
			return nil, invalid("ReportDefinition needs ReportName, TimeUnit, Format, Compression, S3Bucket and S3Region")
		}
		if _, dup := f.reports[def.ReportName]; dup {
			return nil, &failure{http.StatusBadRequest, "DuplicateReportNameException", "A report with the name " + def.ReportName + " already exists"}
		}
		f.reports[def.ReportName] = in["ReportDefinition"]
		return map[string]any{}, nil
	case DeleteReportDefinition:
		var name string
		_ = json.Unmarshal(in["ReportName"], &name)
		delete(f.reports, name)
		return map[string]string{"ResponseMessage": "Report " + name + " deleted"}, nil
	}
	names := make([]string, 0, len(f.reports))
	for n := range f.reports {
		names = append(names, n)
	}
	sort.Strings(names)
	defs := []json.RawMessage{}
	for _, n := range names {
		defs = append(defs, f.reports[n])
	}
	return map[string]any{"ReportDefinitions": defs}, nil
}

func (f *Fake) tagOp(op string, in map[string]json.RawMessage) (any, *failure) {
	if op == UpdateCostAllocationTagsStatus {
		var entries []struct{ TagKey, Status string }
		if err := json.Unmarshal(in["CostAllocationTagsStatus"], &entries); err != nil || len(entries) == 0 {
			return nil, invalid("CostAllocationTagsStatus must list 1 to 20 entries")
		}
		if len(entries) > 20 {
			return nil, invalid("CostAllocationTagsStatus must list 1 to 20 entries")
		}
		errs := []map[string]string{}
		for _, e := range entries {
			if _, ok := f.tags[e.TagKey]; !ok {
				errs = append(errs, map[string]string{"TagKey": e.TagKey, "Code": "TagKeysNotFoundException",
					"Message": "Failed to update Cost Allocation Tag: " + e.TagKey + " is not found"})
				continue
			}
			f.tags[e.TagKey] = e.Status
		}
		return map[string]any{"Errors": errs}, nil
	}
	var req struct {
		TagKeys []string
		Status  string
		Type    string
	}
	b, _ := json.Marshal(in)
	_ = json.Unmarshal(b, &req)
	keys := req.TagKeys
	if len(keys) == 0 {
		for k := range f.tags {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	list := []map[string]string{}
	if req.Type == "" || req.Type == "UserDefined" {
		for _, k := range keys {
			st, ok := f.tags[k]
			if !ok || (req.Status != "" && req.Status != st) {
				continue
			}
			list = append(list, map[string]string{"TagKey": k, "Type": "UserDefined", "Status": st, "LastUsedDate": "2026-11-01T00:00:00Z"})
		}
	}
	return map[string]any{"CostAllocationTags": list}, nil
}

// serveSTS answers AssumeRole with temporary credentials that name the role.
func (f *Fake) serveSTS(w http.ResponseWriter, op string, body []byte) {
	form, _ := url.ParseQuery(string(body))
	if op != AssumeRole {
		queryProtocol.fail(w, http.StatusBadRequest, "InvalidAction", "unknown action "+op)
		return
	}
	role := form.Get("RoleArn")
	if role == "" || form.Get("RoleSessionName") == "" {
		queryProtocol.fail(w, http.StatusBadRequest, "ValidationError", "RoleArn and RoleSessionName are required")
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	fmt.Fprintf(w, `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>`+
		`<Credentials><AccessKeyId>ASIAFAKEASSUMED</AccessKeyId><SecretAccessKey>fake-secret</SecretAccessKey>`+
		`<SessionToken>fake-session-token</SessionToken><Expiration>%s</Expiration></Credentials>`+
		`<AssumedRoleUser><Arn>%s/%s</Arn><AssumedRoleId>AROAFAKE:%s</AssumedRoleId></AssumedRoleUser>`+
		`</AssumeRoleResult><ResponseMetadata><RequestId>fake</RequestId></ResponseMetadata></AssumeRoleResponse>`,
		time.Now().Add(time.Hour).UTC().Format(time.RFC3339), xmlText(role), xmlText(form.Get("RoleSessionName")), xmlText(form.Get("RoleSessionName")))
}
