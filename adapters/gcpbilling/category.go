package gcpbilling

import "strings"

// serviceCategories maps Google Cloud service descriptions (as the export
// writes service.description) to FOCUS 1.2 ServiceCategory values.
var serviceCategories = map[string]string{
	"compute engine":                     "Compute",
	"kubernetes engine":                  "Compute",
	"cloud run":                          "Compute",
	"cloud run functions":                "Compute",
	"cloud functions":                    "Compute",
	"app engine":                         "Compute",
	"batch":                              "Compute",
	"vmware engine":                      "Compute",
	"cloud storage":                      "Storage",
	"filestore":                          "Storage",
	"backup and dr service":              "Storage",
	"cloud sql":                          "Databases",
	"cloud spanner":                      "Databases",
	"spanner":                            "Databases",
	"cloud bigtable":                     "Databases",
	"bigtable":                           "Databases",
	"cloud firestore":                    "Databases",
	"firestore":                          "Databases",
	"cloud datastore":                    "Databases",
	"cloud memorystore for redis":        "Databases",
	"memorystore":                        "Databases",
	"alloydb":                            "Databases",
	"bigquery":                           "Analytics",
	"bigquery reservation api":           "Analytics",
	"bigquery storage api":               "Analytics",
	"dataflow":                           "Analytics",
	"cloud dataflow":                     "Analytics",
	"dataproc":                           "Analytics",
	"cloud dataproc":                     "Analytics",
	"looker":                             "Analytics",
	"looker studio":                      "Analytics",
	"cloud pub/sub":                      "Integration",
	"pub/sub":                            "Integration",
	"cloud composer":                     "Integration",
	"cloud scheduler":                    "Integration",
	"cloud tasks":                        "Integration",
	"eventarc":                           "Integration",
	"workflows":                          "Integration",
	"apigee":                             "Integration",
	"cloud dns":                          "Networking",
	"networking":                         "Networking",
	"cloud load balancing":               "Networking",
	"cloud cdn":                          "Networking",
	"cloud nat":                          "Networking",
	"cloud vpn":                          "Networking",
	"cloud interconnect":                 "Networking",
	"network intelligence center":        "Networking",
	"cloud logging":                      "Management and Governance",
	"cloud monitoring":                   "Management and Governance",
	"stackdriver logging":                "Management and Governance",
	"stackdriver monitoring":             "Management and Governance",
	"cloud trace":                        "Management and Governance",
	"vertex ai":                          "AI and Machine Learning",
	"gemini api":                         "AI and Machine Learning",
	"cloud vision api":                   "AI and Machine Learning",
	"cloud natural language api":         "AI and Machine Learning",
	"cloud speech api":                   "AI and Machine Learning",
	"cloud text-to-speech api":           "AI and Machine Learning",
	"cloud translation api":              "AI and Machine Learning",
	"document ai":                        "AI and Machine Learning",
	"secret manager":                     "Security",
	"cloud key management service (kms)": "Security",
	"security command center":            "Security",
	"cloud armor":                        "Security",
	"identity platform":                  "Identity",
	"identity and access management":     "Identity",
	"artifact registry":                  "Developer Tools",
	"container registry":                 "Developer Tools",
	"cloud build":                        "Developer Tools",
	"cloud source repositories":          "Developer Tools",
}

// serviceCategory returns the FOCUS ServiceCategory of a service
// description; services not listed are "Other", as FOCUS prescribes.
func serviceCategory(description string) string {
	if description == "" {
		return ""
	}
	if c, ok := serviceCategories[strings.ToLower(strings.TrimSpace(description))]; ok {
		return c
	}
	return "Other"
}
