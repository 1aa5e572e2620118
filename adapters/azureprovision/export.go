package azureprovision

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/accounts"
)

type exportBody struct {
	Properties exportProperties `json:"properties"`
}

type exportProperties struct {
	Description           string           `json:"exportDescription"`
	Schedule              exportSchedule   `json:"schedule"`
	Format                string           `json:"format"`
	CompressionMode       string           `json:"compressionMode"`
	DataOverwriteBehavior string           `json:"dataOverwriteBehavior"`
	PartitionData         bool             `json:"partitionData"`
	DeliveryInfo          exportDelivery   `json:"deliveryInfo"`
	Definition            exportDefinition `json:"definition"`
}

type exportSchedule struct {
	Status           string `json:"status"`
	Recurrence       string `json:"recurrence"`
	RecurrencePeriod struct {
		From time.Time `json:"from"`
		To   time.Time `json:"to"`
	} `json:"recurrencePeriod"`
}

type exportDelivery struct {
	Destination struct {
		Type           string `json:"type"`
		ResourceID     string `json:"resourceId"`
		Container      string `json:"container"`
		RootFolderPath string `json:"rootFolderPath"`
	} `json:"destination"`
}

type exportDefinition struct {
	Type      string `json:"type"`
	Timeframe string `json:"timeframe"`
	DataSet   struct {
		Granularity   string `json:"granularity"`
		Configuration struct {
			DataVersion string `json:"dataVersion"`
		} `json:"configuration"`
	} `json:"dataSet"`
}

func (c *session) exportScope() string { return "/subscriptions/" + c.sub }

func (c *session) exportPath() string {
	return c.exportScope() + "/providers/Microsoft.CostManagement/exports/" + c.n.export
}

func (c *session) costExport(ctx context.Context) (accounts.Resource, error) {
	r, err := c.createExport(ctx)
	return c.record(StepCostExport, r, err)
}

// newExport is the daily export: the subscription's actual costs of the
// month to date (the cost-details dataset adapters/azurebilling reads), as
// gzipped CSV partitioned with a manifest, each run replacing the month's
// previous one, scheduled from now on.
func (c *session) newExport() exportBody {
	var e exportBody
	p := &e.Properties
	p.Description = "Daily actual costs for Truecost"
	from := c.p.cfg.Now().UTC().Truncate(time.Minute).Add(time.Minute)
	p.Schedule.Status, p.Schedule.Recurrence = "Active", "Daily"
	p.Schedule.RecurrencePeriod.From, p.Schedule.RecurrencePeriod.To = from, from.AddDate(10, 0, 0)
	p.Format, p.CompressionMode, p.DataOverwriteBehavior, p.PartitionData = "Csv", "gzip", "OverwritePreviousReport", true
	d := &p.DeliveryInfo.Destination
	d.Type, d.ResourceID, d.Container, d.RootFolderPath = "AzureBlob", c.n.storageAccountID(c.sub), Container, RootFolder
	p.Definition.Type, p.Definition.Timeframe = "ActualCost", "MonthToDate"
	p.Definition.DataSet.Granularity, p.Definition.DataSet.Configuration.DataVersion = "Daily", "2021-10-01"
	return e
}

// createExport creates the export, or takes the one an earlier attempt
// created, then asks Azure to run it now rather than at the next daily
// run.
func (c *session) createExport(ctx context.Context) (accounts.Resource, error) {
	r := accounts.Resource{Kind: "Cost Management export", ID: c.exportPath()}
	what := "cost export " + c.n.export
	if err := c.connect(); err != nil {
		return r, err
	}
	got, err := c.exports.Get(ctx, c.exportScope(), c.n.export, nil)
	switch {
	case err == nil:
		var dest string
		if p := got.Properties; p != nil && p.DeliveryInfo != nil && p.DeliveryInfo.Destination != nil {
			dest = deref(p.DeliveryInfo.Destination.ResourceID)
		}
		if !strings.EqualFold(dest, c.n.storageAccountID(c.sub)) {
			return r, domain.Errorf(domain.Conflict, "%s exists already and writes to %q, not to storage account %s; rename or delete it in Cost Management → Exports, then provision again",
				what, dest, c.n.storageAccount)
		}
		r.Note = "created by an earlier attempt"
	case statusOf(err) != http.StatusNotFound:
		return r, cloudError(err, what)
	default:
		if _, err := c.send(ctx, http.MethodPut, c.exportPath(), exportsAPIVersion, c.newExport(), http.StatusOK, http.StatusCreated); err != nil {
			return r, cloudError(err, what)
		}
	}
	r.State = accounts.Created
	if _, err := c.exports.Execute(ctx, c.exportScope(), c.n.export, nil); err != nil {
		run := "Azure runs it daily; starting the first run now failed: " + domain.ErrorMessage(cloudError(err, "export run"))
		r.Note = strings.TrimPrefix(r.Note+"; "+run, "; ")
	}
	return r, nil
}

func (c *session) deleteExport(ctx context.Context) error {
	if err := c.connect(); err != nil {
		return err
	}
	if _, err := c.exports.Delete(ctx, c.exportScope(), c.n.export, nil); err != nil && statusOf(err) != http.StatusNotFound {
		return cloudError(err, "cost export "+c.n.export)
	}
	return nil
}
