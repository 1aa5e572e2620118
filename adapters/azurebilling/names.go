package azurebilling

import (
	"strings"

	"github.com/truecost/truecost/domain/billing"
)

// regionNames maps Azure region IDs to their display names.
var regionNames = map[string]string{
	"australiacentral":   "Australia Central",
	"australiacentral2":  "Australia Central 2",
	"australiaeast":      "Australia East",
	"australiasoutheast": "Australia Southeast",
	"austriaeast":        "Austria East",
	"belgiumcentral":     "Belgium Central",
	"brazilsouth":        "Brazil South",
	"brazilsoutheast":    "Brazil Southeast",
	"canadacentral":      "Canada Central",
	"canadaeast":         "Canada East",
	"centralindia":       "Central India",
	"centralus":          "Central US",
	"chilecentral":       "Chile Central",
	"chinaeast":          "China East",
	"chinaeast2":         "China East 2",
	"chinaeast3":         "China East 3",
	"chinanorth":         "China North",
	"chinanorth2":        "China North 2",
	"chinanorth3":        "China North 3",
	"eastasia":           "East Asia",
	"eastus":             "East US",
	"eastus2":            "East US 2",
	"francecentral":      "France Central",
	"francesouth":        "France South",
	"germanynorth":       "Germany North",
	"germanywestcentral": "Germany West Central",
	"global":             "Global",
	"indonesiacentral":   "Indonesia Central",
	"israelcentral":      "Israel Central",
	"italynorth":         "Italy North",
	"japaneast":          "Japan East",
	"japanwest":          "Japan West",
	"koreacentral":       "Korea Central",
	"koreasouth":         "Korea South",
	"malaysiawest":       "Malaysia West",
	"mexicocentral":      "Mexico Central",
	"newzealandnorth":    "New Zealand North",
	"northcentralus":     "North Central US",
	"northeurope":        "North Europe",
	"norwayeast":         "Norway East",
	"norwaywest":         "Norway West",
	"polandcentral":      "Poland Central",
	"qatarcentral":       "Qatar Central",
	"southafricanorth":   "South Africa North",
	"southafricawest":    "South Africa West",
	"southcentralus":     "South Central US",
	"southeastasia":      "Southeast Asia",
	"southindia":         "South India",
	"spaincentral":       "Spain Central",
	"swedencentral":      "Sweden Central",
	"switzerlandnorth":   "Switzerland North",
	"switzerlandwest":    "Switzerland West",
	"uaecentral":         "UAE Central",
	"uaenorth":           "UAE North",
	"uksouth":            "UK South",
	"ukwest":             "UK West",
	"usgovarizona":       "US Gov Arizona",
	"usgovtexas":         "US Gov Texas",
	"usgovvirginia":      "US Gov Virginia",
	"westcentralus":      "West Central US",
	"westeurope":         "West Europe",
	"westindia":          "West India",
	"westus":             "West US",
	"westus2":            "West US 2",
	"westus3":            "West US 3",
}

// legacyRegions maps the location names older cost-details files use
// ("US West 2", "EU North") to region IDs.
var legacyRegions = map[string]string{
	"apeast":         "eastasia",
	"apsoutheast":    "southeastasia",
	"aucentral":      "australiacentral",
	"aucentral2":     "australiacentral2",
	"aueast":         "australiaeast",
	"ausoutheast":    "australiasoutheast",
	"brsouth":        "brazilsouth",
	"cacentral":      "canadacentral",
	"caeast":         "canadaeast",
	"cneast":         "chinaeast",
	"cneast2":        "chinaeast2",
	"cnnorth":        "chinanorth",
	"cnnorth2":       "chinanorth2",
	"denorth":        "germanynorth",
	"dewestcentral":  "germanywestcentral",
	"eunorth":        "northeurope",
	"euwest":         "westeurope",
	"frcentral":      "francecentral",
	"frsouth":        "francesouth",
	"incentral":      "centralindia",
	"insouth":        "southindia",
	"inwest":         "westindia",
	"jaeast":         "japaneast",
	"jawest":         "japanwest",
	"krcentral":      "koreacentral",
	"krsouth":        "koreasouth",
	"noeast":         "norwayeast",
	"nowest":         "norwaywest",
	"uscentral":      "centralus",
	"useast":         "eastus",
	"useast2":        "eastus2",
	"usnorthcentral": "northcentralus",
	"ussouthcentral": "southcentralus",
	"uswest":         "westus",
	"uswest2":        "westus2",
	"uswest3":        "westus3",
	"uswestcentral":  "westcentralus",
	"zanorth":        "southafricanorth",
	"zawest":         "southafricawest",
	// Locations that name no single region.
	"allregions":       "",
	"intercontinental": "",
	"unassigned":       "",
	"unknown":          "",
	"zone1":            "",
	"zone2":            "",
	"zone3":            "",
	"zone4":            "",
	"zone5":            "",
}

// region maps a cost-details location ("US West 2", "westus2", "West US 2")
// to a FOCUS region ID and name. Unknown locations keep their text as the
// name, with an ID made of it in lower case without spaces; locations that
// name no single region (geographies, "Unassigned") give no region.
func region(loc string) (id, name string) {
	loc = strings.TrimSpace(loc)
	if loc == "" {
		return "", ""
	}
	key := strings.ToLower(strings.ReplaceAll(loc, " ", ""))
	if n, ok := regionNames[key]; ok {
		return key, n
	}
	if rid, ok := legacyRegions[key]; ok {
		if rid == "" {
			return "", ""
		}
		return rid, regionNames[rid]
	}
	return key, loc
}

// serviceCategories maps meter categories and service families to FOCUS
// service categories.
var serviceCategories = map[string]string{
	"ai + machine learning":         "AI and Machine Learning",
	"analytics":                     "Analytics",
	"app service":                   "Web",
	"azure app service":             "Web",
	"bandwidth":                     "Networking",
	"cognitive services":            "AI and Machine Learning",
	"compute":                       "Compute",
	"containers":                    "Compute",
	"databases":                     "Databases",
	"developer tools":               "Developer Tools",
	"identity":                      "Identity",
	"integration":                   "Integration",
	"internet of things":            "Internet of Things",
	"management and governance":     "Management and Governance",
	"networking":                    "Networking",
	"security":                      "Security",
	"sql database":                  "Databases",
	"storage":                       "Storage",
	"virtual machines":              "Compute",
	"virtual network":               "Networking",
	"web":                           "Web",
	"azure cosmos db":               "Databases",
	"azure database for mysql":      "Databases",
	"azure database for postgresql": "Databases",
	"load balancer":                 "Networking",
	"dns":                           "Networking",
	"key vault":                     "Security",
	"log analytics":                 "Management and Governance",
	"azure monitor":                 "Management and Governance",
	"functions":                     "Compute",
	"azure kubernetes service":      "Compute",
	"container instances":           "Compute",
	"container registry":            "Developer Tools",
	"backup":                        "Storage",
}

// service names the service after the meter category (the closest to a
// product name cost details carry) and files it under a FOCUS category.
func (m *costMapper) service(rec []string, item *billing.LineItem) {
	for _, f := range []field{fServiceName, fMeterCategory, fConsumedService} {
		if v := m.get(rec, f); v != "" {
			item.ServiceName = v
			break
		}
	}
	item.ServiceCategory = "Other"
	for _, f := range []field{fMeterCategory, fServiceFamily} {
		if c, ok := serviceCategories[strings.ToLower(m.get(rec, f))]; ok {
			item.ServiceCategory = c
			return
		}
	}
}
