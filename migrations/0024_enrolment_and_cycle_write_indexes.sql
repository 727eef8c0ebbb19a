ALTER TABLE "beneficiaries" DROP CONSTRAINT "beneficiaries_programme_subject_key";--> statement-breakpoint
DROP INDEX "beneficiaries_subject_idx";--> statement-breakpoint
DROP INDEX "payments_subject_idx";--> statement-breakpoint
ALTER TABLE "beneficiaries" ADD CONSTRAINT "beneficiaries_subject_programme_key" UNIQUE("subject_id","programme_id");