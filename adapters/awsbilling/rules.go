package awsbilling

import "github.com/truecost/truecost/domain/billing"

// The FOCUS mapping of lineItem/LineItemType follows the FinOps
// Foundation's AWS conversion (focus_converters) updated to FOCUS 1.2:
// usage and its commitment-discount forms are Usage, fees and commitment
// purchases are Purchase, Tax is Tax, and credits and refunds are Credit,
// refunds also being corrections of earlier charges. Types AWS adds later
// are kept as Adjustment rather than failing a whole month.
var lineItemTypes = map[string]struct{ category, class, frequency string }{
	"Usage":                   {"Usage", "", "Usage-Based"},
	"DiscountedUsage":         {"Usage", "", "Usage-Based"},
	"SavingsPlanCoveredUsage": {"Usage", "", "Usage-Based"},
	"SavingsPlanNegation":     {"Usage", "", "Usage-Based"},
	"BundledDiscount":         {"Usage", "", "Usage-Based"},
	"Discount":                {"Usage", "", "Usage-Based"},
	"EdpDiscount":             {"Usage", "", "Usage-Based"},
	"PrivateRateDiscount":     {"Usage", "", "Usage-Based"},
	"RiVolumeDiscount":        {"Usage", "", "Usage-Based"},
	"DistributorDiscount":     {"Usage", "", "Usage-Based"},
	"Fee":                     {"Purchase", "", "One-Time"},
	"SavingsPlanUpfrontFee":   {"Purchase", "", "One-Time"},
	"RIFee":                   {"Purchase", "", "Recurring"},
	"SavingsPlanRecurringFee": {"Purchase", "", "Recurring"},
	"Tax":                     {"Tax", "", "One-Time"},
	"Credit":                  {"Credit", "", "One-Time"},
	"Refund":                  {"Credit", "Correction", "One-Time"},
}

// classify sets the charge, pricing and commitment-discount columns from
// the line item type.
func (d rowDecoder) classify(l *billing.LineItem, lineType string) {
	k, ok := lineItemTypes[lineType]
	if !ok {
		k.category, k.frequency = "Adjustment", "One-Time"
	}
	l.ChargeCategory, l.ChargeClass, l.ChargeFrequency = k.category, k.class, k.frequency

	switch lineType {
	case "SavingsPlanCoveredUsage", "SavingsPlanNegation", "SavingsPlanRecurringFee", "SavingsPlanUpfrontFee":
		if l.CommitmentDiscountID = d.get(colSPArn); l.CommitmentDiscountID != "" {
			l.CommitmentDiscountCategory = "Spend"
			l.CommitmentDiscountType = firstOf(d.get(colSPOfferingType), "Savings Plan")
		}
	case "DiscountedUsage", "RIFee":
		if l.CommitmentDiscountID = d.get(colRIArn); l.CommitmentDiscountID != "" {
			l.CommitmentDiscountCategory = "Usage"
			l.CommitmentDiscountType = "Reserved Instance"
		}
	}
	if l.CommitmentDiscountID != "" {
		switch lineType {
		case "SavingsPlanCoveredUsage", "DiscountedUsage":
			l.CommitmentDiscountStatus = "Used"
		case "SavingsPlanRecurringFee", "RIFee":
			l.CommitmentDiscountStatus = "Unused"
		}
	}

	if l.ChargeCategory != "Usage" {
		return
	}
	switch {
	case lineType == "SavingsPlanCoveredUsage" || lineType == "DiscountedUsage":
		l.PricingCategory = "Committed"
	case d.get(colPricingTerm) == "OnDemand":
		l.PricingCategory = "Standard"
	case d.get(colPricingTerm) == "Spot":
		l.PricingCategory = "Dynamic"
	case d.get(colPricingTerm) == "Reserved":
		l.PricingCategory = "Committed"
	}
}

// effectiveCost is the amortised cost of a row, by line item type, as the
// FOCUS conversion of the CUR defines it: commitment-covered usage at its
// effective rate, the unused part of commitment fees, nothing for upfront
// fees and savings-plan negations (their cost is spread over the usage),
// and the billed cost for everything else. Net columns win where present,
// as they do for BilledCost.
func (d rowDecoder) effectiveCost(lineType string, billed billing.Number) (billing.Number, error) {
	switch lineType {
	case "SavingsPlanCoveredUsage":
		return d.preferNet(colSPNetEffective, colSPEffective, billed)
	case "DiscountedUsage":
		return d.preferNet(colRINetEffective, colRIEffective, billed)
	case "SavingsPlanNegation", "SavingsPlanUpfrontFee":
		return "0", nil
	case "SavingsPlanRecurringFee":
		total, err := d.num(colSPTotalCommitment)
		if err != nil {
			return "", err
		}
		used, err := d.num(colSPUsedCommitment)
		if err != nil || !total.Valid() {
			return billed, err
		}
		return billing.Number(total.Decimal().Sub(used.Decimal()).String()), nil
	case "RIFee":
		upfront, err := d.preferNet(colRINetUnusedUpfront, colRIUnusedUpfront, "")
		if err != nil {
			return "", err
		}
		recurring, err := d.preferNet(colRINetUnusedRecurring, colRIUnusedRecurring, "")
		if err != nil {
			return "", err
		}
		if !upfront.Valid() && !recurring.Valid() {
			return billed, nil
		}
		return billing.Number(upfront.Decimal().Add(recurring.Decimal()).String()), nil
	case "Fee":
		if d.get(colRIArn) != "" { // the upfront payment of a reservation
			return "0", nil
		}
	}
	return billed, nil
}

// preferNet reads the net column, else the gross one, else returns
// fallback.
func (d rowDecoder) preferNet(net, gross int, fallback billing.Number) (billing.Number, error) {
	for _, c := range []int{net, gross} {
		n, err := d.num(c)
		if err != nil || n.Valid() {
			return n, err
		}
	}
	return fallback, nil
}

// serviceCategory places the common AWS services in FOCUS 1.2's service
// categories; others are Other.
func serviceCategory(productCode string) string {
	if c, ok := serviceCategories[productCode]; ok {
		return c
	}
	if productCode == "" {
		return ""
	}
	return "Other"
}

var serviceCategories = map[string]string{
	"AmazonEC2": "Compute", "AWSLambda": "Compute", "AmazonECS": "Compute", "AmazonEKS": "Compute",
	"AWSElasticBeanstalk": "Compute", "AmazonLightsail": "Compute", "AWSBatch": "Compute",
	"AmazonS3": "Storage", "AmazonEFS": "Storage", "AmazonFSx": "Storage", "AmazonGlacier": "Storage",
	"AWSBackup": "Storage", "AmazonS3GlacierDeepArchive": "Storage",
	"AmazonRDS": "Databases", "AmazonDynamoDB": "Databases", "AmazonElastiCache": "Databases",
	"AmazonRedshift": "Databases", "AmazonDocDB": "Databases", "AmazonNeptune": "Databases",
	"AmazonVPC": "Networking", "AmazonCloudFront": "Networking", "AmazonRoute53": "Networking",
	"AWSDataTransfer": "Networking", "AWSELB": "Networking", "AWSDirectConnect": "Networking",
	"AmazonApiGateway": "Networking", "AWSGlobalAccelerator": "Networking",
	"AmazonCloudWatch": "Management and Governance", "AWSCloudTrail": "Management and Governance",
	"AWSConfig": "Management and Governance", "AWSSystemsManager": "Management and Governance",
	"AWSCostExplorer":    "Management and Governance",
	"AWSSupportBusiness": "Management and Governance", "AWSSupportEnterprise": "Management and Governance",
	"AWSKMS": "Security", "AWSSecretsManager": "Security", "AWSWAF": "Security", "AmazonGuardDuty": "Security",
	"AWSSecurityHub": "Security", "AmazonInspector": "Security", "AWSShield": "Security",
	"AmazonCognito": "Identity",
	"AmazonSNS":     "Integration", "AmazonSQS": "Integration", "AWSEvents": "Integration", "AmazonMQ": "Integration",
	"AWSStepFunctions": "Integration",
	"AmazonAthena":     "Analytics", "AWSGlue": "Analytics", "AmazonKinesis": "Analytics", "AmazonES": "Analytics",
	"AmazonMSK": "Analytics", "ElasticMapReduce": "Analytics", "AmazonQuickSight": "Analytics",
	"AmazonSageMaker": "AI and Machine Learning", "AmazonBedrock": "AI and Machine Learning",
	"AmazonRekognition": "AI and Machine Learning", "AmazonTextract": "AI and Machine Learning",
	"AmazonECR": "Developer Tools", "AWSCodeBuild": "Developer Tools", "AWSCodePipeline": "Developer Tools",
}
