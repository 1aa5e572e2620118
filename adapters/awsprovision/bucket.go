package awsprovision

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/truecost/truecost/domain/accounts"
)

// Services that deliver billing exports to S3: the legacy Cost and Usage
// Report service and Data Exports.
var deliveryServices = []string{"billingreports.amazonaws.com", "bcm-data-exports.amazonaws.com"}

func (s *session) names() Names {
	return NamesFor(s.req.Infra, s.req.Account.ProviderAccountID)
}

// createBucket creates the export bucket in the chosen region. A bucket of
// that name this account already owns was created by an earlier attempt:
// its name derives from the infrastructure ID.
func (s *session) createBucket(ctx context.Context) (accounts.Resource, error) {
	bucket, region := s.names().Bucket, s.region()
	what := "bucket " + bucket
	client, err := s.s3(ctx)
	if err != nil {
		return accounts.Resource{}, s.cloudError(err, what)
	}
	in := &s3.CreateBucketInput{Bucket: aws.String(bucket)}
	if region != "us-east-1" {
		in.CreateBucketConfiguration = &s3types.CreateBucketConfiguration{
			LocationConstraint: s3types.BucketLocationConstraint(region),
		}
	}
	r := accounts.Resource{Kind: "S3 bucket", ID: bucket, Region: region, State: accounts.Created,
		Note: "receives the billing export under " + Prefix + "/"}
	if _, err := client.CreateBucket(ctx, in); err != nil {
		if errorCode(err) != "BucketAlreadyOwnedByYou" {
			return accounts.Resource{}, s.cloudError(err, what)
		}
		r.Note = "created by an earlier attempt; " + r.Note
	}
	return r, nil
}

// bucketPolicy lets the billing delivery services check the bucket and
// write to it, for exports of this account only.
func bucketPolicy(bucket, awsAccountID string) string {
	type principal struct {
		Service []string `json:"Service"`
	}
	type statement struct {
		Sid       string                    `json:"Sid"`
		Effect    string                    `json:"Effect"`
		Principal principal                 `json:"Principal"`
		Action    []string                  `json:"Action"`
		Resource  string                    `json:"Resource"`
		Condition map[string]map[string]any `json:"Condition"`
	}
	condition := map[string]map[string]any{
		"StringEquals": {"aws:SourceAccount": awsAccountID},
		"ArnLike": {"aws:SourceArn": []string{
			"arn:aws:cur:" + billingRegion + ":" + awsAccountID + ":definition/*",
			"arn:aws:bcm-data-exports:" + billingRegion + ":" + awsAccountID + ":export/*",
		}},
	}
	doc := struct {
		Version   string      `json:"Version"`
		Statement []statement `json:"Statement"`
	}{
		Version: "2012-10-17",
		Statement: []statement{
			{Sid: "BillingExportCheckBucket", Effect: "Allow", Principal: principal{deliveryServices},
				Action: []string{"s3:GetBucketAcl", "s3:GetBucketPolicy"}, Resource: "arn:aws:s3:::" + bucket, Condition: condition},
			{Sid: "BillingExportDeliver", Effect: "Allow", Principal: principal{deliveryServices},
				Action: []string{"s3:PutObject"}, Resource: "arn:aws:s3:::" + bucket + "/*", Condition: condition},
		},
	}
	b, _ := json.Marshal(doc)
	return string(b)
}

// putBucketPolicy sets the bucket's policy; the bucket is Truecost's, so
// its policy is too, and writing it again is harmless.
func (s *session) putBucketPolicy(ctx context.Context) (accounts.Resource, error) {
	bucket := s.names().Bucket
	what := "the policy of bucket " + bucket
	client, err := s.s3(ctx)
	if err != nil {
		return accounts.Resource{}, s.cloudError(err, what)
	}
	_, err = client.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{
		Bucket: aws.String(bucket),
		Policy: aws.String(bucketPolicy(bucket, s.req.Account.ProviderAccountID)),
	})
	if err != nil {
		return accounts.Resource{}, s.cloudError(err, what)
	}
	return accounts.Resource{Kind: "bucket policy", ID: bucket, Region: s.region(), State: accounts.Created,
		Note: "lets billingreports.amazonaws.com and bcm-data-exports.amazonaws.com deliver exports of account " + s.req.Account.ProviderAccountID}, nil
}

func (s *session) deleteBucketPolicy(ctx context.Context, bucket string) error {
	what := "the policy of bucket " + bucket
	client, err := s.s3(ctx)
	if err != nil {
		return s.cloudError(err, what)
	}
	_, err = client.DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: aws.String(bucket)})
	if err != nil && errorCode(err) != "NoSuchBucket" {
		return s.cloudError(err, what)
	}
	return nil
}

// deleteBucket empties the bucket, page by page, and deletes it.
func (s *session) deleteBucket(ctx context.Context, bucket string) error {
	what := "bucket " + bucket
	client, err := s.s3(ctx)
	if err != nil {
		return s.cloudError(err, what)
	}
	pages := s3.NewListObjectsV2Paginator(client, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if errorCode(err) == "NoSuchBucket" {
			return nil
		}
		if err != nil {
			return s.cloudError(err, what)
		}
		if len(page.Contents) == 0 {
			continue
		}
		ids := make([]s3types.ObjectIdentifier, 0, len(page.Contents))
		for _, o := range page.Contents {
			ids = append(ids, s3types.ObjectIdentifier{Key: o.Key})
		}
		out, err := client.DeleteObjects(ctx, &s3.DeleteObjectsInput{
			Bucket: aws.String(bucket),
			Delete: &s3types.Delete{Objects: ids, Quiet: aws.Bool(true)},
		})
		if err != nil {
			return s.cloudError(err, what)
		}
		if len(out.Errors) > 0 {
			e := out.Errors[0]
			return s.cloudError(&objectError{code: aws.ToString(e.Code), msg: aws.ToString(e.Message), key: aws.ToString(e.Key)}, what)
		}
	}
	_, err = client.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(bucket)})
	if err != nil && errorCode(err) != "NoSuchBucket" {
		return s.cloudError(err, what)
	}
	return nil
}

// objectError is one failed key of a DeleteObjects answer.
type objectError struct{ code, msg, key string }

func (e *objectError) Error() string                 { return e.key + ": " + e.msg }
func (e *objectError) ErrorCode() string             { return e.code }
func (e *objectError) ErrorMessage() string          { return "cannot delete " + e.key + ": " + e.msg }
func (e *objectError) ErrorFault() smithy.ErrorFault { return smithy.FaultUnknown }
