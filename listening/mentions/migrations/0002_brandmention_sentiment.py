from django.db import migrations, models


class Migration(migrations.Migration):
    # A constant default: PostgreSQL adds the column without rewriting the table.
    dependencies = [("mentions", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="brandmention",
            name="sentiment",
            field=models.CharField(
                blank=True,
                choices=[("negative", "Negative"), ("neutral", "Neutral"), ("positive", "Positive")],
                default="",
                max_length=16,
            ),
        ),
    ]
