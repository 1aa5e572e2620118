package azureprovision

import "strings"

// Locations are the public Azure regions a storage account may be created
// in, by their Resource Manager names.
var Locations = []string{
	// Americas
	"eastus", "eastus2", "centralus", "northcentralus", "southcentralus", "westcentralus",
	"westus", "westus2", "westus3", "canadacentral", "canadaeast", "brazilsouth", "brazilsoutheast",
	"mexicocentral", "chilecentral",
	// Europe
	"northeurope", "westeurope", "uksouth", "ukwest", "francecentral", "francesouth",
	"germanywestcentral", "germanynorth", "switzerlandnorth", "switzerlandwest", "norwayeast", "norwaywest",
	"swedencentral", "swedensouth", "polandcentral", "italynorth", "spaincentral",
	// Middle East and Africa
	"uaenorth", "uaecentral", "qatarcentral", "israelcentral", "southafricanorth", "southafricawest",
	// Asia Pacific
	"eastasia", "southeastasia", "japaneast", "japanwest", "koreacentral", "koreasouth",
	"centralindia", "southindia", "westindia", "jioindiawest", "jioindiacentral",
	"australiaeast", "australiasoutheast", "australiacentral", "australiacentral2",
	"newzealandnorth", "indonesiacentral", "malaysiawest",
}

// Location returns the Resource Manager name of a known Azure region given
// by name or display name, in any case ("West Europe" is westeurope).
func Location(s string) (string, bool) {
	key := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(s), " ", ""))
	for _, l := range Locations {
		if l == key {
			return l, true
		}
	}
	return "", false
}
